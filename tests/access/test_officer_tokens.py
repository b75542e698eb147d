"""Officer tokens: every check of the access specification, over real calls."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable

import grpc
import jwt
import pytest
from departure_screening.v1 import screening_pb2 as pb
from support import builders
from support.pki import CertificateAuthority, Issued, TokenIssuer

from .conftest import TlsServer, bearer


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict[str, object]) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def hs256_with_public_key(issuer: TokenIssuer, claims: dict[str, object]) -> str:
    """The classic confusion attack: the public key used as an HMAC secret."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": issuer.kid}).encode())
    body = f"{header}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(issuer.public_pem(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(signature)}"


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def list_indicators(server: TlsServer, client: Issued, token: str) -> grpc.StatusCode:
    try:
        server.stub(client).ListIndicators(
            pb.ListIndicatorsRequest(), metadata=bearer(token), timeout=10
        )
    except grpc.RpcError as error:
        return error.code()  # type: ignore[no-any-return,attr-defined]
    return grpc.StatusCode.OK


BAD_TOKENS: dict[str, Callable[[TokenIssuer, Issued], str]] = {
    "expired": lambda i, d: i.token(iat=int(time.time()) - 3600, exp=int(time.time()) - 120),
    "not yet valid": lambda i, d: i.token(iat=int(time.time()) + 3600, ttl=7200),
    "not before": lambda i, d: i.token(nbf=int(time.time()) + 3600),
    "wrong issuer": lambda i, d: i.token(iss="https://elsewhere.example"),
    "wrong audience": lambda i, d: i.token(aud="another-service"),
    "no sub": lambda i, d: i.token(sub=None),
    "no iat": lambda i, d: i.token(iat=None),
    "no exp": lambda i, d: jwt.encode(
        {k: v for k, v in i.claims().items() if k != "exp"},
        i.key,
        algorithm=i.algorithm,
        headers={"kid": i.kid},
    ),
    "alg none": lambda i, d: unsigned(i.claims()),
    "HS256 with the public key": lambda i, d: hs256_with_public_key(i, i.claims()),
    "tampered payload": lambda i, d: tampered(i.token()),
    "another signer": lambda i, d: TokenIssuer(kid=i.kid).token(),
    "unknown key": lambda i, d: TokenIssuer(kid="stranger").token(),
    "cnf of another cert": lambda i, d: i.token(
        cnf={"x5t#S256": CertificateAuthority().device("counter").thumbprint}
    ),
    "cnf without x5t#S256": lambda i, d: i.token(cnf={"jkt": "abc"}),
    # Found by the officer_token fuzz harness: a thumbprint beyond ASCII made the comparison
    # raise TypeError, so the call ended UNKNOWN instead of UNAUTHENTICATED.
    "cnf beyond ASCII": lambda i, d: i.token(cnf={"x5t#S256": "\u00e9t\u00e9"}),
    "checkpoint of another checkpoint": lambda i, d: i.token(checkpoint="SUB"),
    "not a JWT": lambda i, d: "not-a-token",
}


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
def test_a_bad_token_is_unauthenticated_whatever_the_rpc(tls_server: TlsServer, kind: str) -> None:
    device = tls_server.device("counter", "CGK")
    token = BAD_TOKENS[kind](tls_server.pki.issuer, device)
    assert list_indicators(tls_server, device, token) == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    "kind", ["plain", "bound to the checkpoint", "bound to the certificate", "60 s leeway"]
)
def test_a_good_token_is_accepted(tls_server: TlsServer, kind: str) -> None:
    device = tls_server.device("counter", "CGK")
    issuer = tls_server.pki.issuer
    token = {
        "plain": lambda: issuer.token(),
        "bound to the checkpoint": lambda: issuer.token(checkpoint="CGK"),
        "bound to the certificate": lambda: issuer.token(cnf={"x5t#S256": device.thumbprint}),
        "60 s leeway": lambda: issuer.token(exp=int(time.time()) - 30),
    }[kind]()
    assert list_indicators(tls_server, device, token) == grpc.StatusCode.OK


def test_a_missing_token_is_unauthenticated_where_one_is_required(tls_server: TlsServer) -> None:
    assessment_id = tls_server.assessment("CGK", "live")
    stub = tls_server.stub(tls_server.device("supervisor", "CGK"))
    request = pb.RecordDecisionRequest(
        assessment_id=assessment_id, officer_id="officer-1", decision=pb.DECISION_CLEARED
    )
    with pytest.raises(grpc.RpcError) as raised:
        stub.RecordDecision(request, timeout=10)
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
    # Nothing was stored: the assessment still has no decision.
    counter = tls_server.stub(tls_server.device("counter", "CGK"))
    got = counter.GetAssessment(pb.GetAssessmentRequest(assessment_id=assessment_id), timeout=10)
    assert list(got.decisions) == []


def test_officer_id_must_be_the_tokens_subject(tls_server: TlsServer) -> None:
    stub = tls_server.stub(tls_server.device("counter", "CGK"))
    token = tls_server.pki.issuer.token("officer-7")
    screening = builders.screening(officer_id="officer-8")
    with pytest.raises(grpc.RpcError) as raised:
        stub.Screen(pb.ScreenRequest(screening=screening), metadata=bearer(token), timeout=10)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]

    assessment_id = tls_server.assessment("CGK", "live")
    decision = pb.RecordDecisionRequest(
        assessment_id=assessment_id, officer_id="officer-8", decision=pb.DECISION_CLEARED
    )
    with pytest.raises(grpc.RpcError) as raised:
        stub.RecordDecision(decision, metadata=bearer(token), timeout=10)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]


def test_the_stored_officer_is_the_tokens_subject(tls_server: TlsServer) -> None:
    stub = tls_server.stub(tls_server.device("counter", "CGK"))
    token = tls_server.pki.issuer.token("officer-7")
    assessment_id = tls_server.assessment("CGK", "live")
    decision = pb.RecordDecisionRequest(
        assessment_id=assessment_id, officer_id="", decision=pb.DECISION_CLEARED
    )
    recorded = stub.RecordDecision(decision, metadata=bearer(token), timeout=10)
    assert recorded.decision.officer_id == "officer-7"
    got = stub.GetAssessment(pb.GetAssessmentRequest(assessment_id=assessment_id), timeout=10)
    assert [d.officer_id for d in got.decisions] == ["officer-7"]


def test_an_rs256_key_set_is_accepted(tmp_path: object) -> None:
    from pathlib import Path

    from departure_screening.access.identity import Device
    from departure_screening.access.tokens import TokenRules, load_jwks, verify_token

    issuer = TokenIssuer(kind="rsa")
    path = Path(str(tmp_path)) / "jwks.json"
    path.write_text(json.dumps(issuer.jwks()))
    device = Device("spiffe://x/auditor/a", "auditor", None, "a", "thumb")
    rules = TokenRules("https://idp.imigrasi.go.id", "departure-screening")
    officer = verify_token(issuer.token("officer-9"), load_jwks(path), rules, device)
    assert officer.officer_id == "officer-9"
