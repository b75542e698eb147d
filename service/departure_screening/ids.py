"""Assessment ids: unique, unguessable, and in the order they were made.

The layout is that of UUID version 7 (RFC 9562), written as 32 hex digits: 48 bits
of Unix milliseconds, the version, then 74 random bits. Time order lets the
store's id indexes grow at their right edge instead of dirtying a random page of
each index per screening.

The random bits are a keyed BLAKE2b of a counter, with a key drawn from the OS
once per process: as hard to guess as ``uuid4``, without a system call per id.
That call releases the GIL, and under load each release costs a thread switch.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import time

_RANDOM_BITS = 80
_RAND_B_MASK = (1 << 62) - 1


class IdSource:
    def __init__(self) -> None:
        self._rekey()
        # A forked child must not repeat its parent's ids. The child runs this before
        # anything else, in its only thread, so key and counter never need a lock.
        os.register_at_fork(after_in_child=self._rekey)

    def _rekey(self) -> None:
        self._key = os.urandom(32)
        self._counter = itertools.count()

    def __call__(self) -> str:
        n = next(self._counter)  # one step, atomic under the GIL
        noise = hashlib.blake2b(n.to_bytes(8, "big"), key=self._key, digest_size=_RANDOM_BITS // 8)
        rand = int.from_bytes(noise.digest(), "big")
        millis = time.time_ns() // 1_000_000 & 0xFFFF_FFFF_FFFF
        value = (
            millis << 80
            | 0x7 << 76  # version 7
            | (rand >> 68) << 64  # 12 bits
            | 0b10 << 62  # the RFC 9562 variant
            | rand & _RAND_B_MASK  # 62 bits
        )
        return f"{value:032x}"
