"""Fuzz target: bytes → an officer token → ``verify_token`` against a fixed key set.

Two kinds of input. Raw bytes are the token itself as it would follow ``Bearer`` (the
committed seeds are real tokens, so libFuzzer's bit flips make tampered ones). An input
that starts with ``SIGNED`` is a header and a payload, split at the first newline, that
the harness signs with the key set's own key: the forged-looking parts then pass the
signature and reach every check after it (claims of the wrong type, ``cnf``, ``checkpoint``).
Either way the verifier must answer an ``Officer`` that satisfies the specification or
refuse with ``TokenError``; any other exception, or a hang, is a crash.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from departure_screening.access.identity import Device
from departure_screening.access.tokens import (
    LEEWAY_SECONDS,
    SigningKeys,
    TokenError,
    TokenRules,
    bearer_token,
    verify_token,
)
from jwt.algorithms import ECAlgorithm

NAME = "officer_token"
SIGNED = b"SIGNED\n"
ISSUER = "https://sso.imigrasi.go.id"
AUDIENCE = "departure-screening"
KID = "fuzz-key"
DEVICE = Device(
    spiffe_id="spiffe://imigrasi.go.id/checkpoint/CGK/counter/lane-01",
    role="counter",
    checkpoint="CGK",
    name="lane-01",
    cert_thumbprint="Qm9ndXMgdGh1bWJwcmludCBvZiBhIGNlcnRpZmljYXRlIQ",
)
RULES = TokenRules(issuer=ISSUER, audience=AUDIENCE)


@dataclass(frozen=True)
class _Signer:
    key: ec.EllipticCurvePrivateKey
    keys: SigningKeys

    def sign(self, header: bytes, payload: bytes) -> str:
        signing_input = f"{_b64(header)}.{_b64(payload)}"
        signature = ECAlgorithm(ECAlgorithm.SHA256).sign(signing_input.encode(), self.key)
        return f"{signing_input}.{_b64(signature)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _signer() -> _Signer:
    # A fixed key: the seeds were signed with it, so they verify from one run to the next.
    key = ec.derive_private_key(0x5EED_0F_0FF1CE_70CE, ec.SECP256R1())
    return _Signer(key, SigningKeys({KID: (key.public_key(), "ES256")}))


SIGNER = _signer()


def signed(header: dict[str, object], claims: dict[str, object]) -> bytes:
    """A ``SIGNED`` input: the harness signs these parts (for the seeds)."""
    return SIGNED + json.dumps(header).encode() + b"\n" + json.dumps(claims).encode()


def token_of(data: bytes) -> str:
    if data.startswith(SIGNED):
        header, _, payload = data[len(SIGNED) :].partition(b"\n")
        return SIGNER.sign(header, payload)
    # Every byte value, though gRPC lets only printable ASCII through in metadata.
    return data.decode("latin-1")


def TestOneInput(data: bytes) -> None:
    token = token_of(data)
    parsed = bearer_token((("authorization", "Bearer " + token),))
    if parsed is None:
        raise AssertionError("a bearer header was not found")
    try:
        officer = verify_token(parsed, SIGNER.keys, RULES, DEVICE)
    except TokenError:
        return
    # What passed must hold what the access specification says of an officer token.
    if not isinstance(officer.officer_id, str) or not 0 < len(officer.officer_id) <= 64:
        raise AssertionError(f"an officer id out of bounds: {officer.officer_id!r}")
    if officer.expires_at + LEEWAY_SECONDS <= time.time():
        raise AssertionError("an expired token passed")
