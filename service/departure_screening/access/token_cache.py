"""Officer tokens verified once per device until they expire, not on every call.

A counter sends the same token with every call of a shift, and its ES256 signature check
costs on the order of a millisecond of CPU, more than the rest of the access checks together.
A token is remembered with the device that presented it and the key set that verified it, so
a token is never taken on trust from another device (``cnf``, ``checkpoint``), nor after the
key set changed, nor once it has expired: ``exp`` is checked on every call, with the same
leeway as the full check. Refused tokens are not remembered.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from departure_screening.access.identity import Device
from departure_screening.access.tokens import (
    LEEWAY_SECONDS,
    Officer,
    SigningKeys,
    TokenRules,
    verify_token,
)

# Devices of a large airport, each with its officer's token; the oldest beyond that are dropped.
DEFAULT_SIZE = 4096

_Key = tuple[str, Device, TokenRules]


class VerifiedTokens:
    """``verify_token`` with a bounded memory of tokens that passed."""

    def __init__(self, size: int = DEFAULT_SIZE, clock: Callable[[], float] = time.time) -> None:
        self._size = size
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[_Key, tuple[SigningKeys, Officer]] = OrderedDict()
        self.full_checks = 0  # signature checks done, for tests and profiles

    def verify(self, token: str, keys: SigningKeys, rules: TokenRules, device: Device) -> Officer:
        """The officer, as ``verify_token`` says; ``TokenError`` for a token that fails."""
        key = (token, device, rules)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                known_keys, officer = entry
                if known_keys is keys and self._clock() < officer.expires_at + LEEWAY_SECONDS:
                    self._entries.move_to_end(key)
                    return officer
                del self._entries[key]
        officer = verify_token(token, keys, rules, device)  # outside the lock: the slow part
        with self._lock:
            self.full_checks += 1
            self._entries[key] = (keys, officer)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return officer

    def __len__(self) -> int:
        return len(self._entries)
