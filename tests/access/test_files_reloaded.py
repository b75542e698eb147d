"""Certificates, the officer key set and the policy re-read while serving, without a restart."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from departure_screening.access.policy import default_policy_path
from departure_screening.v1 import screening_pb2 as pb
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support.pki import CertificateAuthority, Pki, TokenIssuer, write_atomically
from support.waiting import wait_for

from .conftest import TlsServer, bearer, start_tls_server

# The policy and the key set files are looked at once a second at most (RECHECK_SECONDS).
RELOAD_WAIT = 10.0


def reloads(server: TlsServer, file: str, result: str) -> float:
    return server.sample("depscreen_config_reloads_total", file=file, result=result)


def indicators(server: TlsServer, channel: grpc.Channel) -> grpc.StatusCode:
    from departure_screening.v1 import screening_pb2_grpc as pb_grpc

    try:
        pb_grpc.ScreeningServiceStub(channel).ListIndicators(pb.ListIndicatorsRequest(), timeout=5)
    except grpc.RpcError as error:
        return error.code()  # type: ignore[no-any-return,attr-defined]
    return grpc.StatusCode.OK


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    shutil.copy(default_policy_path(), path)
    return path


@pytest.fixture
def server(fresh_pki: Pki, policy_file: Path) -> Iterator[TlsServer]:
    server = start_tls_server(fresh_pki, access_policy=str(policy_file))
    yield server
    server.close()


def test_a_rotated_server_certificate_is_seen_by_a_new_connection(server: TlsServer) -> None:
    pki = server.pki
    device = server.device("counter")
    assert indicators(server, server.channel(device)) == grpc.StatusCode.OK
    # The server certificate moves to a new CA; clients trusting it connect without a restart.
    new_ca = CertificateAuthority("Rotated server CA")
    new_server = new_ca.server()
    write_atomically(pki.server_key, new_server.key_pem)  # key first: a mismatch is refused
    write_atomically(pki.server_cert, new_server.cert_pem)
    assert indicators(server, server.channel(device, root=new_ca.cert_pem)) == grpc.StatusCode.OK
    assert indicators(server, server.channel(device)) == grpc.StatusCode.UNAVAILABLE
    assert server.sample("depscreen_config_reloads_total", file="tls", result="applied") == 1


def test_a_rotated_client_ca_admits_its_devices(server: TlsServer) -> None:
    new_ca = CertificateAuthority("Next devices CA")
    newcomer = new_ca.device("counter")
    assert indicators(server, server.channel(newcomer)) == grpc.StatusCode.UNAVAILABLE
    write_atomically(server.pki.client_ca, server.pki.ca.cert_pem + new_ca.cert_pem)
    assert indicators(server, server.channel(newcomer)) == grpc.StatusCode.OK
    assert server.sample("depscreen_config_reloads_total", file="client_ca", result="applied") == 1


def test_a_broken_certificate_keeps_the_previous_one(server: TlsServer) -> None:
    write_atomically(server.pki.server_cert, b"not a certificate")
    assert indicators(server, server.channel(server.device("counter"))) == grpc.StatusCode.OK
    assert server.sample("depscreen_config_reloads_total", file="tls", result="refused") == 1


def test_an_invalid_policy_keeps_the_old_one_and_a_valid_one_applies(
    server: TlsServer, policy_file: Path
) -> None:
    channel = server.channel(server.device("counter"))

    def refused_and_still_served() -> bool:
        # A call looks at the file (at most once a second); the old policy answers it.
        assert indicators(server, channel) == grpc.StatusCode.OK
        return reloads(server, "access_policy", "refused") == 1

    write_atomically(policy_file, b"version: 1\nrpcs:\n  ListIndicators:\n    janitor: {}\n")
    wait_for(refused_and_still_served, RELOAD_WAIT)
    write_atomically(policy_file, b"version: 1\nrpcs:\n  ListIndicators:\n    auditor: {}\n")
    wait_for(lambda: indicators(server, channel) == grpc.StatusCode.PERMISSION_DENIED, RELOAD_WAIT)
    assert reloads(server, "access_policy", "applied") == 1


def test_the_probe_port_serves_health_alone_in_plaintext(server: TlsServer) -> None:
    probe = grpc.insecure_channel(f"127.0.0.1:{server.running.probe_port}")
    try:
        status = health_pb2_grpc.HealthStub(probe).Check(
            health_pb2.HealthCheckRequest(service="departure_screening.v1.ScreeningService"),
            timeout=5,
        )
        assert status.status == health_pb2.HealthCheckResponse.SERVING
        assert indicators(server, probe) == grpc.StatusCode.UNIMPLEMENTED
    finally:
        probe.close()


def test_a_rotated_jwks_is_seen_by_the_next_call_and_a_broken_one_is_refused(
    server: TlsServer,
) -> None:
    pki, device = server.pki, server.device("counter")
    stub = server.stub(device)

    def with_token(token: str) -> grpc.StatusCode:
        try:
            stub.ListIndicators(pb.ListIndicatorsRequest(), metadata=bearer(token), timeout=5)
        except grpc.RpcError as error:
            return error.code()  # type: ignore[no-any-return,attr-defined]
        return grpc.StatusCode.OK

    old, new = pki.issuer, TokenIssuer(kid="officer-2")
    old_token, new_token = old.token(), new.token()
    assert with_token(old_token) == grpc.StatusCode.OK  # and now remembered as verified
    assert with_token(new_token) == grpc.StatusCode.UNAUTHENTICATED
    # The identity provider rolls its key: both for a while, then the new one alone.
    both = {"keys": old.jwks()["keys"] + new.jwks()["keys"]}
    write_atomically(pki.jwks, json.dumps(both).encode())
    wait_for(lambda: with_token(new_token) == grpc.StatusCode.OK, RELOAD_WAIT)
    assert with_token(old_token) == grpc.StatusCode.OK
    write_atomically(pki.jwks, b'{"keys": "not a list"}')
    wait_for(
        lambda: (
            with_token(new_token) == grpc.StatusCode.OK and reloads(server, "jwks", "refused") == 1
        ),
        RELOAD_WAIT,
    )  # the previous set still holds
    write_atomically(pki.jwks, json.dumps(new.jwks()).encode())
    # A token verified before is not taken on trust once its key is gone.
    wait_for(lambda: with_token(old_token) == grpc.StatusCode.UNAUTHENTICATED, RELOAD_WAIT)
    assert with_token(new_token) == grpc.StatusCode.OK
    assert reloads(server, "jwks", "applied") == 2
