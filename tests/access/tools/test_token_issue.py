"""Officer tokens: what `token issue` signs, checked with PyJWT against the JWKS."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from departure_screening.access.defaults import DEFAULT_AUDIENCE, DEFAULT_ISSUER
from departure_screening.access.tokens_issue import (
    TokenError,
    issue_token,
    jwk_of,
    key_id,
    load_signing_key,
)


def _key(pki: Path) -> Any:
    return load_signing_key((pki / "officer-signing.key").read_bytes())


def _decode(
    token: str,
    jwks: dict[str, Any],
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
) -> dict[str, Any]:
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWKSet.from_dict(jwks)[kid]
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=["ES256", "RS256"],
        audience=audience,
        issuer=issuer,
        options={"require": ["exp", "iat", "sub", "iss", "aud"]},
    )
    return claims


def test_a_token_verifies_against_the_jwks_with_every_claim(pki: Path) -> None:
    jwks = json.loads((pki / "jwks.json").read_text())
    cert_pem = (pki / "counter-CGK.pem").read_bytes()
    cert = x509.load_pem_x509_certificate(cert_pem)
    token = issue_token(
        _key(pki), officer="officer-17", ttl_seconds=1800, checkpoint="CGK", bind_cert=cert
    )
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256"
    assert header["kid"] == jwks["keys"][0]["kid"]
    claims = _decode(token, jwks)
    assert claims["sub"] == "officer-17"
    assert claims["iss"] == DEFAULT_ISSUER and claims["aud"] == DEFAULT_AUDIENCE
    assert claims["exp"] - claims["iat"] == 1800
    assert abs(claims["iat"] - time.time()) < 60
    assert claims["checkpoint"] == "CGK"
    der = cert.public_bytes(serialization.Encoding.DER)
    digest = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    assert claims["cnf"] == {"x5t#S256": digest}


def test_optional_claims_are_absent_unless_asked(pki: Path) -> None:
    jwks = json.loads((pki / "jwks.json").read_text())
    claims = _decode(issue_token(_key(pki), officer="o-1", ttl_seconds=60), jwks)
    assert "checkpoint" not in claims and "cnf" not in claims
    assert set(claims) == {"iss", "aud", "sub", "iat", "exp"}


def test_issuer_and_audience_can_be_chosen(pki: Path) -> None:
    token = issue_token(
        _key(pki), officer="o-1", ttl_seconds=60, issuer="https://idp.test", audience="other"
    )
    jwks = json.loads((pki / "jwks.json").read_text())
    claims = _decode(token, jwks, issuer="https://idp.test", audience="other")
    assert (claims["iss"], claims["aud"]) == ("https://idp.test", "other")
    with pytest.raises(jwt.InvalidIssuerError):
        _decode(token, jwks)
    with pytest.raises(jwt.InvalidAudienceError):
        _decode(token, jwks, issuer="https://idp.test")


def test_another_key_does_not_verify(pki: Path, other_pki: Path) -> None:
    token = issue_token(_key(other_pki), officer="o-1", ttl_seconds=60)
    jwks = json.loads((pki / "jwks.json").read_text())
    with pytest.raises(KeyError):  # its kid is not in this JWKS
        _decode(token, jwks)
    # Even under this JWKS's kid, the signature is wrong.
    key = jwt.PyJWKSet.from_dict(jwks).keys[0]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, key, algorithms=["ES256"], audience=DEFAULT_AUDIENCE)


def test_an_expired_token_is_expired(pki: Path) -> None:
    past = int(time.time()) - 7200
    token = issue_token(_key(pki), officer="o-1", ttl_seconds=3600, now=past)
    with pytest.raises(jwt.ExpiredSignatureError):
        _decode(token, json.loads((pki / "jwks.json").read_text()))


def test_rsa_keys_sign_rs256_and_their_jwk_verifies() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    loaded = load_signing_key(pem)
    token = issue_token(loaded, officer="o-2", ttl_seconds=600)
    jwks = {"keys": [jwk_of(key.public_key())]}
    assert jwt.get_unverified_header(token) == {
        "alg": "RS256",
        "kid": key_id(key.public_key()),
        "typ": "JWT",
    }
    assert _decode(token, jwks)["sub"] == "o-2"


def test_kid_is_the_rfc7638_thumbprint() -> None:
    # The example of RFC 7638, section 3.1.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
        "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0"
        "_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWh"
        "AI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    public = jwt.algorithms.RSAAlgorithm.from_jwk({"kty": "RSA", "n": n, "e": "AQAB"})
    assert isinstance(public, rsa.RSAPublicKey)
    assert key_id(public) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize(
    "key",
    [
        ec.generate_private_key(ec.SECP384R1()),
        rsa.generate_private_key(public_exponent=65537, key_size=1024),
    ],
    ids=["ec-p384", "rsa-1024"],
)
def test_keys_that_cannot_sign_es256_or_rs256_are_refused(key: Any) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(TokenError):
        load_signing_key(pem)


@pytest.mark.parametrize("officer", ["", "x" * 65, "tab\there"])
def test_bad_officer_ids_are_refused(pki: Path, officer: str) -> None:
    with pytest.raises(TokenError):
        issue_token(_key(pki), officer=officer, ttl_seconds=60)
