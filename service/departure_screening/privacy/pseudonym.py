"""Keyed hashes (HMAC-SHA256) that link trips without keeping personal numbers."""

from __future__ import annotations

import hashlib
import hmac
import secrets


class Pseudonymizer:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the pseudonymisation key must be at least 16 bytes")
        self._key = key

    @classmethod
    def ephemeral(cls) -> Pseudonymizer:
        """A random key: links hold for this process only (in-memory store, tests)."""
        return cls(secrets.token_bytes(32))

    def digest(self, *parts: str) -> str:
        message = "\x1f".join(parts).encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def person(self, passport_number: str) -> str:
        return self.digest("passport", passport_number)
