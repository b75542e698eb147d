"""Tokens verified once per device: never for another device, key set, or past expiry."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from departure_screening.access.identity import Device, device_from_pem
from departure_screening.access.token_cache import VerifiedTokens
from departure_screening.access.tokens import (
    LEEWAY_SECONDS,
    SigningKeys,
    TokenError,
    TokenRules,
    load_jwks,
)
from support.pki import AUDIENCE, ISSUER, TRUST_DOMAIN, CertificateAuthority, Issued, TokenIssuer

RULES = TokenRules(issuer=ISSUER, audience=AUDIENCE)


def _device(issued: Issued) -> Device:
    return device_from_pem(issued.cert_pem, TRUST_DOMAIN, ["CGK", "DPS"])


def _keys(issuer: TokenIssuer, tmp_path: Path, name: str = "jwks.json") -> SigningKeys:
    path = tmp_path / name
    path.write_text(json.dumps(issuer.jwks()))
    return load_jwks(path)


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority()


def test_a_token_is_checked_once_for_its_device(ca: CertificateAuthority, tmp_path: Path) -> None:
    issuer = TokenIssuer()
    keys, lane = _keys(issuer, tmp_path), ca.device("counter")
    token = issuer.token(cnf={"x5t#S256": lane.thumbprint}, checkpoint="CGK")
    cache = VerifiedTokens()
    officers = {cache.verify(token, keys, RULES, _device(lane)) for _ in range(50)}
    assert {o.officer_id for o in officers} == {"officer-7"}
    assert cache.full_checks == 1


def test_a_token_passed_on_one_device_is_checked_again_on_another(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    issuer = TokenIssuer()
    keys = _keys(issuer, tmp_path)
    lane, other_lane, bali = ca.device("counter"), ca.device("counter"), ca.device("counter", "DPS")
    bound = issuer.token(cnf={"x5t#S256": lane.thumbprint})
    at_cgk = issuer.token(checkpoint="CGK")
    cache = VerifiedTokens()
    cache.verify(bound, keys, RULES, _device(lane))
    cache.verify(at_cgk, keys, RULES, _device(lane))
    with pytest.raises(TokenError, match="another certificate"):
        cache.verify(bound, keys, RULES, _device(other_lane))
    with pytest.raises(TokenError, match="another checkpoint"):
        cache.verify(at_cgk, keys, RULES, _device(bali))
    # A refusal is not remembered either: the device that holds the token still passes.
    assert cache.verify(bound, keys, RULES, _device(lane)).officer_id == "officer-7"


def test_a_new_key_set_checks_every_token_again(ca: CertificateAuthority, tmp_path: Path) -> None:
    issuer, lane = TokenIssuer(), ca.device("counter")
    token = issuer.token()
    cache = VerifiedTokens()
    cache.verify(token, _keys(issuer, tmp_path), RULES, _device(lane))
    # The identity provider's key is withdrawn: the file re-read names another key only.
    withdrawn = _keys(TokenIssuer(kid="officer-2"), tmp_path, "rotated.json")
    with pytest.raises(TokenError):
        cache.verify(token, withdrawn, RULES, _device(lane))


def test_a_remembered_token_expires_on_time(ca: CertificateAuthority, tmp_path: Path) -> None:
    issuer, lane = TokenIssuer(), ca.device("counter")
    keys = _keys(issuer, tmp_path)
    now = time.time()
    token = issuer.token(iat=int(now) - 600, exp=int(now) + 30)
    clock = [now]
    cache = VerifiedTokens(clock=lambda: clock[0])
    cache.verify(token, keys, RULES, _device(lane))
    clock[0] = now + 30 + LEEWAY_SECONDS - 1
    cache.verify(token, keys, RULES, _device(lane))
    assert cache.full_checks == 1
    # Past exp and its leeway the memory is no answer: the full check runs, at the real
    # time, and passes; the point is that the remembered answer was not used.
    clock[0] = now + 30 + LEEWAY_SECONDS + 1
    cache.verify(token, keys, RULES, _device(lane))
    assert cache.full_checks == 2


def test_an_expired_token_is_refused_though_it_passed_before(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    issuer, lane = TokenIssuer(), ca.device("counter")
    keys = _keys(issuer, tmp_path)
    now = int(time.time())
    # Within the leeway for one more second.
    token = issuer.token(iat=now - 600, exp=now - LEEWAY_SECONDS + 1)
    cache = VerifiedTokens()
    cache.verify(token, keys, RULES, _device(lane))
    time.sleep(2.1)
    with pytest.raises(TokenError, match="ExpiredSignature"):
        cache.verify(token, keys, RULES, _device(lane))
    assert len(cache) == 0


def test_the_memory_is_bounded(ca: CertificateAuthority, tmp_path: Path) -> None:
    issuer, lane = TokenIssuer(), ca.device("counter")
    keys = _keys(issuer, tmp_path)
    cache = VerifiedTokens(size=3)
    tokens = [issuer.token(officer=f"officer-{i}") for i in range(5)]
    for token in tokens:
        cache.verify(token, keys, RULES, _device(lane))
    assert len(cache) == 3
    cache.verify(tokens[-1], keys, RULES, _device(lane))  # among the newest: remembered
    assert cache.full_checks == 5
    cache.verify(tokens[0], keys, RULES, _device(lane))  # the oldest was dropped
    assert cache.full_checks == 6
