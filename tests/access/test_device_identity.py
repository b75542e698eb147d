"""Device certificates: the handshake refuses strangers; the SAN must name a known device."""

from __future__ import annotations

import grpc
import pytest
from departure_screening.access.identity import IdentityError, parse_spiffe_id
from departure_screening.v1 import screening_pb2 as pb
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import given
from hypothesis import strategies as st
from support.pki import CertificateAuthority, Issued, spiffe_id

from .conftest import TlsServer

CHECKPOINTS = ("CGK", "SUB", "ENTIKONG")
TD = "imigrasi.go.id"


def list_indicators(server: TlsServer, client: Issued | None) -> grpc.StatusCode:
    try:
        server.stub(client).ListIndicators(pb.ListIndicatorsRequest(), timeout=10)
    except grpc.RpcError as error:
        return error.code()  # type: ignore[no-any-return,attr-defined]
    return grpc.StatusCode.OK


def health(server: TlsServer, client: Issued) -> grpc.StatusCode:
    stub = health_pb2_grpc.HealthStub(server.channel(client))
    try:
        stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
    except grpc.RpcError as error:
        return error.code()  # type: ignore[no-any-return,attr-defined]
    return grpc.StatusCode.OK


def test_a_device_of_the_client_ca_is_served(tls_server: TlsServer) -> None:
    client = tls_server.device("counter")
    assert list_indicators(tls_server, client) == grpc.StatusCode.OK
    assert health(tls_server, client) == grpc.StatusCode.OK


@pytest.mark.parametrize("kind", ["another CA", "expired", "none"])
def test_the_handshake_fails_without_a_valid_certificate(tls_server: TlsServer, kind: str) -> None:
    client = {
        "another CA": CertificateAuthority("Someone else").device("counter"),
        "expired": tls_server.pki.ca.issue("old", uris=(spiffe_id("counter"),), expired=True),
        "none": None,
    }[kind]
    assert list_indicators(tls_server, client) == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize(
    "uris",
    [
        pytest.param((spiffe_id("counter", domain="example.org"),), id="another trust domain"),
        pytest.param((spiffe_id("counter"), spiffe_id("supervisor")), id="two URI SANs"),
        pytest.param((spiffe_id("janitor"),), id="unknown role"),
        pytest.param((spiffe_id("counter", checkpoint="XYZ"),), id="unknown checkpoint"),
        pytest.param((), id="no URI SAN"),
        pytest.param((f"spiffe://{TD}/auditor",), id="national role without a name"),
    ],
)
def test_an_unknown_device_is_unauthenticated_on_every_rpc(
    tls_server: TlsServer, uris: tuple[str, ...]
) -> None:
    client = tls_server.pki.ca.issue("odd", uris=uris, dns=("odd.example",))
    before = tls_server.sample(
        "depscreen_access_denied_total",
        method="ListIndicators",
        role="unknown",
        reason="bad_certificate",
    )
    assert list_indicators(tls_server, client) == grpc.StatusCode.UNAUTHENTICATED
    assert health(tls_server, client) == grpc.StatusCode.UNAUTHENTICATED
    stub = tls_server.stub(client)
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetAssessment(pb.GetAssessmentRequest(assessment_id="a-1"), timeout=10)
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
    after = tls_server.sample(
        "depscreen_access_denied_total",
        method="ListIndicators",
        role="unknown",
        reason="bad_certificate",
    )
    assert after == before + 1


# -- the SPIFFE id parser ---------------------------------------------------------

segment = st.from_regex(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,15}", fullmatch=True).filter(
    lambda s: s not in (".", "..")
)


@given(
    role=st.sampled_from(["counter", "manifest", "supervisor"]),
    checkpoint=st.sampled_from(CHECKPOINTS),
    name=segment,
)
def test_a_checkpoint_device_id_gives_back_its_parts(role: str, checkpoint: str, name: str) -> None:
    uri = f"spiffe://{TD}/checkpoint/{checkpoint}/{role}/{name}"
    assert parse_spiffe_id(uri, TD, CHECKPOINTS) == (role, checkpoint, name)


@given(role=st.sampled_from(["auditor", "instructor"]), name=segment)
def test_a_national_device_id_gives_back_its_parts(role: str, name: str) -> None:
    assert parse_spiffe_id(f"spiffe://{TD}/{role}/{name}", TD, CHECKPOINTS) == (role, None, name)


@given(st.text(max_size=80))
def test_any_text_is_a_device_or_an_identity_error(text: str) -> None:
    try:
        role, checkpoint, _ = parse_spiffe_id(text, TD, CHECKPOINTS)
    except IdentityError:
        return
    assert text.startswith(f"spiffe://{TD}/")
    assert role in ("counter", "manifest", "supervisor", "auditor", "instructor")
    assert checkpoint is None or checkpoint in CHECKPOINTS


@given(
    suffix=st.sampled_from(
        [
            "/checkpoint/CGK/counter",
            "/checkpoint/CGK/counter/a/b",
            "/checkpoint/CGK/auditor/a",
            "/auditor/a/b",
            "/checkpoint/CGK/counter/..",
            "/checkpoint//counter/a",
            "",
        ]
    ),
    domain=st.sampled_from([TD, "evil.example", TD + ".evil"]),
)
def test_malformed_or_foreign_ids_are_refused(suffix: str, domain: str) -> None:
    with pytest.raises(IdentityError):
        parse_spiffe_id(f"spiffe://{domain}{suffix}", TD, CHECKPOINTS)
