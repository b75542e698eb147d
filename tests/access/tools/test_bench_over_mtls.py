"""The bench's load phases reach a mutual-TLS service through the shared channel factory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from departure_screening.access.client import PLAINTEXT, ClientCredentials, load_client_credentials
from departure_screening.access.tokens_issue import issue_token, load_signing_key
from departure_screening.bench.phases import (
    Traffic,
    latency_at_rate,
    replay_seconds,
    stream_per_s,
    unary_rps,
)
from departure_screening.serving.app import build_app
from departure_screening.serving.config import ServeConfig
from departure_screening.v1 import screening_pb2_grpc as pb_grpc
from prometheus_client import CollectorRegistry

from access.tools.tls_server import TlsServer, tls_server


@pytest.fixture
def service(pki: Path) -> Iterator[TlsServer]:
    config = ServeConfig(listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", store="memory:")
    app = build_app(config, CollectorRegistry())

    def register(server: grpc.Server) -> None:
        pb_grpc.add_ScreeningServiceServicer_to_server(app.servicer, server)

    try:
        with tls_server(pki, register) as server:
            yield server
    finally:
        app.close()


@pytest.fixture
def counter(pki: Path) -> ClientCredentials:
    key = load_signing_key((pki / "officer-signing.key").read_bytes())
    return load_client_credentials(
        tls_ca=str(pki / "ca.pem"),
        tls_cert=str(pki / "counter-CGK.pem"),
        tls_key=str(pki / "counter-CGK.key"),
        token=issue_token(key, officer="officer-17", ttl_seconds=600),
    )


def test_every_phase_calls_with_the_certificate_and_the_token(
    service: TlsServer, counter: ClientCredentials
) -> None:
    traffic = Traffic("mtls")
    assert unary_rps(service.target, 0.2, traffic, counter) > 0
    assert stream_per_s(service.target, 0.1, traffic, counter) > 0
    latency = latency_at_rate(service.target, 50, 0.2, traffic, counter)
    assert latency["p50"] > 0
    assert replay_seconds(service.target, 20, traffic, streams=2, credentials=counter) > 0
    methods = {method.rsplit("/", 1)[-1] for method, _ in service.seen.calls}
    assert methods == {"Screen", "ScreenManifest"}
    assert all(
        meta.get("authorization") == f"Bearer {counter.token}" for _, meta in service.seen.calls
    )


def test_a_plaintext_phase_does_not_get_through(service: TlsServer) -> None:
    with pytest.raises(grpc.RpcError) as error:
        unary_rps(service.target, 0.1, Traffic("plain"), PLAINTEXT)
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE
    assert not service.seen.calls
