"""Officer tokens: JWTs of the directorate's identity provider, checked against its JWKS.

The algorithms are the server's choice, never the token's: each key of the set is used only
with the one algorithm of its type (ES256 for P-256, RS256 for RSA), so ``none`` and every
``HS*`` fail, and a public key can never serve as an HMAC secret.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from departure_screening.access.identity import Device

LEEWAY_SECONDS = 60
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "sub"]


class TokenError(ValueError):
    """An officer token that fails a check; the message names the check, never the token."""


@dataclass(frozen=True)
class Officer:
    officer_id: str  # the token's ``sub``
    expires_at: float  # ``exp``, seconds since the epoch


@dataclass(frozen=True)
class SigningKeys:
    """The usable keys of a JWKS: by ``kid``, each with its one algorithm."""

    by_kid: dict[str, tuple[Any, str]]

    def for_kid(self, kid: str | None) -> tuple[Any, str]:
        if kid is None:
            if len(self.by_kid) != 1:
                raise TokenError("token names no key (kid) and the key set has several")
            return next(iter(self.by_kid.values()))
        try:
            return self.by_kid[kid]
        except KeyError:
            raise TokenError("token signed by an unknown key") from None


def load_jwks(path: Path) -> SigningKeys:
    """Parse a JWKS file; refuse one without a usable ES256 or RS256 key."""
    try:
        data = json.loads(path.read_text())
        keys = data["keys"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"officer JWKS {path}: not a JSON Web Key Set ({error})") from None
    if not isinstance(keys, list):
        raise ValueError(f"officer JWKS {path}: keys must be a list")
    by_kid: dict[str, tuple[Any, str]] = {}
    for index, entry in enumerate(keys):
        try:
            key = jwt.PyJWK.from_dict(entry).key
        except (jwt.PyJWKError, TypeError, ValueError) as error:
            raise ValueError(f"officer JWKS {path}: key {index}: {error}") from None
        if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
            algorithm = "ES256"
        elif isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048:
            algorithm = "RS256"
        else:
            raise ValueError(
                f"officer JWKS {path}: key {index} is not a P-256 or RSA (2048+) public key"
            )
        by_kid[str(entry.get("kid", index))] = (key, algorithm)
    if not by_kid:
        raise ValueError(f"officer JWKS {path}: no keys")
    return SigningKeys(by_kid)


@dataclass(frozen=True)
class TokenRules:
    issuer: str
    audience: str


def verify_token(token: str, keys: SigningKeys, rules: TokenRules, device: Device) -> Officer:
    """The officer a token names, after every check of the access specification."""
    try:
        header = jwt.get_unverified_header(token)
        key, algorithm = keys.for_kid(header.get("kid"))
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=rules.audience,
            issuer=rules.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.PyJWTError as error:
        raise TokenError(type(error).__name__) from None
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub or len(sub) > 64:
        raise TokenError("sub must be an officer id of 1 to 64 characters")
    if "checkpoint" in claims and claims["checkpoint"] != device.checkpoint:
        raise TokenError("token bound to another checkpoint")
    if "cnf" in claims:
        cnf = claims["cnf"]
        bound = cnf.get("x5t#S256") if isinstance(cnf, dict) else None
        # As bytes: compare_digest refuses str with characters beyond ASCII.
        if not isinstance(bound, str) or not hmac.compare_digest(
            bound.encode(), device.cert_thumbprint.encode()
        ):
            raise TokenError("token bound to another certificate")
    return Officer(officer_id=sub, expires_at=float(claims["exp"]))


def bearer_token(metadata: tuple[tuple[str, str | bytes], ...] | None) -> str | None:
    """The token of ``authorization: Bearer <JWT>``; ``""`` for a malformed header."""
    for key, value in metadata or ():
        if key == "authorization":
            text = value.decode() if isinstance(value, bytes) else value
            scheme, _, token = text.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return None
