"""The shared channel factory against gRPC's own mutual-TLS server, with real handshakes."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from departure_screening.access.client import (
    ClientConfigError,
    ClientCredentials,
    load_client_credentials,
    open_channel,
    token_subject,
)
from departure_screening.access.tokens_issue import issue_token, load_signing_key
from grpc_health.v1 import health_pb2, health_pb2_grpc

from access.tools.tls_server import tls_server

TIMEOUT = 10


def _device(
    pki: Path, stem: str, ca: Path | None = None, token: str | None = None
) -> ClientCredentials:
    return load_client_credentials(
        tls_ca=str(ca or pki / "ca.pem"),
        tls_cert=str(pki / f"{stem}.pem"),
        tls_key=str(pki / f"{stem}.key"),
        token=token,
    )


def _check(target: str, credentials: ClientCredentials) -> health_pb2.HealthCheckResponse:
    with open_channel(target, credentials) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        response: health_pb2.HealthCheckResponse = stub.Check(
            health_pb2.HealthCheckRequest(), timeout=TIMEOUT
        )
        return response


def _token(pki: Path, officer: str = "officer-17") -> str:
    key = load_signing_key((pki / "officer-signing.key").read_bytes())
    return issue_token(key, officer=officer, ttl_seconds=600)


def test_a_device_certificate_completes_mutual_tls(pki: Path) -> None:
    with tls_server(pki) as server:
        response = _check(server.target, _device(pki, "counter-CGK"))
        assert response.status == health_pb2.HealthCheckResponse.SERVING
        [peer] = server.seen.peers
    # The server saw the device's SPIFFE id through the handshake.
    assert peer["transport_security_type"] == [b"ssl"]
    assert (
        b"spiffe://imigrasi.go.id/checkpoint/CGK/counter/lane-01"
        in peer["x509_subject_alternative_name"]
    )


def test_the_token_travels_as_a_bearer_header(pki: Path) -> None:
    token = _token(pki)
    with tls_server(pki) as server:
        _check(server.target, _device(pki, "supervisor-DPS", token=token))
        [(method, metadata)] = server.seen.calls
    assert method == "/grpc.health.v1.Health/Check"
    assert metadata["authorization"] == f"Bearer {token}"


def test_without_a_token_no_authorization_is_sent(pki: Path) -> None:
    with tls_server(pki) as server:
        _check(server.target, _device(pki, "auditor"))
        [(_, metadata)] = server.seen.calls
    assert "authorization" not in metadata


@pytest.mark.parametrize(
    "who",
    ["no client certificate", "a certificate of another CA", "plaintext", "server not trusted"],
)
def test_the_handshake_fails_for_strangers(pki: Path, other_pki: Path, who: str) -> None:
    credentials = {
        "no client certificate": load_client_credentials(tls_ca=str(pki / "ca.pem")),
        "a certificate of another CA": _device(other_pki, "counter-CGK", ca=pki / "ca.pem"),
        "plaintext": ClientCredentials(),
        "server not trusted": _device(pki, "counter-CGK", ca=other_pki / "ca.pem"),
    }[who]
    with tls_server(pki) as server:
        with pytest.raises(grpc.RpcError) as error:
            _check(server.target, credentials)
        assert not server.seen.calls, "no call may reach the server"
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE


def test_without_tls_material_the_channel_is_plaintext() -> None:
    from concurrent import futures

    from grpc_health.v1 import health

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        response = _check(f"127.0.0.1:{port}", load_client_credentials())
    finally:
        server.stop(0)
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_the_token_names_its_subject(pki: Path) -> None:
    credentials = _device(pki, "counter-CGK", token=_token(pki, "officer-99"))
    assert token_subject(credentials) == "officer-99"
    assert token_subject(_device(pki, "counter-CGK")) is None


def test_a_token_can_come_from_a_file(pki: Path, tmp_path: Path) -> None:
    token = _token(pki)
    (tmp_path / "token").write_text(token + "\n")
    credentials = _device(pki, "counter-CGK", token=f"@{tmp_path / 'token'}")
    assert credentials.token == token
    assert token not in repr(credentials)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"tls_cert": "counter-CGK.pem"}, "go together"),
        ({"tls_key": "counter-CGK.key"}, "go together"),
        ({"token": "a.b.c"}, "never sent in clear"),
        ({"tls_ca": "missing.pem"}, "cannot read --tls-ca"),
        ({"tls_ca": "counter-CGK.key"}, "no PEM certificate"),
        ({"tls_cert": "counter-CGK.pem", "tls_key": "counter-DPS.key"}, "not the key of"),
        ({"tls_cert": "counter-CGK.pem", "tls_key": "counter-CGK.pem"}, "no unencrypted PEM"),
        ({"tls_ca": "ca.pem", "token": "not a token"}, "not a JWT"),
        ({"tls_ca": "ca.pem", "token": "@no/such/file"}, "cannot read --token"),
    ],
)
def test_flags_that_do_not_fit_are_refused(pki: Path, flags: dict[str, str], message: str) -> None:
    args = {name: value if name == "token" else str(pki / value) for name, value in flags.items()}
    with pytest.raises(ClientConfigError, match=message):
        load_client_credentials(**args)
