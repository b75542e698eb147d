"""Minting officer tokens: what the directorate's identity provider issues, for trying it out.

A token is a JWT signed with ES256 (EC P-256 key) or RS256 (RSA key). Its header's ``kid`` is
the RFC 7638 thumbprint of the public key, the same ``kid`` the JWKS written beside the
development PKI carries, so a verifier finds the key without being told.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from departure_screening.access.defaults import DEFAULT_AUDIENCE, DEFAULT_ISSUER

# A year and a day: beyond it a "development" token is a long-lived secret in all but name.
MAX_TTL_SECONDS = 366 * 86400
# The same limit as the service's officer_id.
MAX_OFFICER_ID = 64

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?")

SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class TokenError(ValueError):
    """A token cannot be issued as asked; the message says why."""


def parse_duration(text: str) -> int:
    """Seconds in a duration such as ``8h``, ``30m``, ``1h30m`` or ``90s`` (units d, h, m, s).

    Units appear at most once each, largest first; the total is positive and at most
    MAX_TTL_SECONDS. Anything else raises ValueError.
    """
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"not a duration: {text!r} (e.g. 8h, 30m, 1h30m)")
    seconds = sum(
        int(value) * factor
        for value, factor in zip(match.groups(), _UNITS.values(), strict=True)
        if value is not None
    )
    if not 0 < seconds <= MAX_TTL_SECONDS:
        raise ValueError(f"a duration between 1s and {MAX_TTL_SECONDS // 86400}d: {text!r}")
    return seconds


def format_duration(seconds: int) -> str:
    """The shortest text ``parse_duration`` reads back as ``seconds``."""
    if seconds <= 0:
        raise ValueError("a duration is positive")
    parts = []
    for unit, factor in _UNITS.items():
        count, seconds = divmod(seconds, factor)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def cert_thumbprint(cert: x509.Certificate) -> str:
    """``x5t#S256`` of RFC 8705: base64url SHA-256 of the certificate's DER."""
    return b64url(hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest())


def _public_jwk(public: PublicKey) -> dict[str, Any]:
    if isinstance(public, rsa.RSAPublicKey):
        return dict(RSAAlgorithm.to_jwk(public, as_dict=True))
    return dict(ECAlgorithm.to_jwk(public, as_dict=True))


def key_id(public: PublicKey) -> str:
    """RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order."""
    jwk = _public_jwk(public)
    required = ("e", "kty", "n") if jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def algorithm_for(key: SigningKey | PublicKey) -> str:
    """ES256 for EC P-256, RS256 for RSA (2048 bits or more); other keys are refused."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise TokenError(f"an RSA key of {key.key_size} bits is too short (2048 at least)")
        return "RS256"
    if isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise TokenError(f"an EC key on {key.curve.name} cannot sign ES256 (P-256 only)")


def jwk_of(public: PublicKey) -> dict[str, Any]:
    """The public key as a JWKS entry: ``kid``, ``alg`` and ``use`` set."""
    return {
        **_public_jwk(public),
        "kid": key_id(public),
        "alg": algorithm_for(public),
        "use": "sig",
    }


def load_signing_key(pem: bytes) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise TokenError(f"not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise TokenError("the signing key must be EC P-256 (ES256) or RSA (RS256)")
    algorithm_for(key)
    return key


def load_certificate(pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise TokenError(f"not a PEM certificate ({exc})") from None


def check_officer(officer: str) -> str:
    if not officer or len(officer) > MAX_OFFICER_ID or not officer.isprintable():
        raise TokenError(f"an officer id is 1 to {MAX_OFFICER_ID} printable characters")
    return officer


def issue_token(
    key: SigningKey,
    *,
    officer: str,
    ttl_seconds: int,
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
    checkpoint: str | None = None,
    bind_cert: x509.Certificate | None = None,
    now: int | None = None,
) -> str:
    """A signed officer token; ``bind_cert`` makes it usable only with that certificate."""
    iat = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": check_officer(officer),
        "iat": iat,
        "exp": iat + ttl_seconds,
    }
    if checkpoint:
        claims["checkpoint"] = checkpoint
    if bind_cert is not None:
        claims["cnf"] = {"x5t#S256": cert_thumbprint(bind_cert)}
    return jwt.encode(
        claims,
        key,
        algorithm=algorithm_for(key),
        headers={"kid": key_id(key.public_key())},
    )
