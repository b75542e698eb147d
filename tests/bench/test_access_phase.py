"""The bench's access phase serves what it claims: mutual TLS with access control on.

The servers it starts refuse a caller without the bench's certificate, and the service
checks the officer token on every call (the record names the device and the officer).
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from departure_screening.access.client import PLAINTEXT, ClientCredentials, open_channel
from departure_screening.bench.access_material import OFFICER, make_access_material
from departure_screening.bench.children import service_environment, start_baseline, start_service
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc
from support.builders import screening


def _screen(target: str, credentials: ClientCredentials) -> pb.Assessment:
    with open_channel(target, credentials) as channel:
        stub = pb_grpc.ScreeningServiceStub(channel)
        answer: pb.ScreenResponse = stub.Screen(
            pb.ScreenRequest(screening=screening(officer_id="")), timeout=20
        )
        return answer.assessment


def _without_token(credentials: ClientCredentials) -> ClientCredentials:
    return ClientCredentials(
        credentials.root_certificates, credentials.private_key, credentials.certificate_chain
    )


def test_the_service_in_the_access_phase_checks_device_and_officer(tmp_path: Path) -> None:
    material = make_access_material(tmp_path / "pki")
    child = start_service(tmp_path, service_environment(tmp_path), access=material)
    try:
        assessment = _screen(child.target, material.client)
        assert assessment.screened_by.device == (
            "spiffe://imigrasi.go.id/checkpoint/CGK/counter/lane-01"
        )
        assert assessment.screened_by.officer == OFFICER
        # Without the certificate there is no handshake; a plaintext caller gets nowhere.
        with pytest.raises(grpc.RpcError) as refused:
            _screen(child.target, PLAINTEXT)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        # The device alone may screen, and is recorded without an officer.
        assert _screen(child.target, _without_token(material.client)).screened_by.officer == ""
    finally:
        child.stop()


def test_the_durable_baseline_over_mtls_wants_the_bench_certificate(tmp_path: Path) -> None:
    material = make_access_material(tmp_path / "pki")
    child = start_baseline(durable=tmp_path / "durable.db", access=material)
    try:
        assert _screen(child.target, material.client).request_id
        with pytest.raises(grpc.RpcError) as refused:
            _screen(child.target, PLAINTEXT)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        no_cert = ClientCredentials(root_certificates=material.client.root_certificates)
        with pytest.raises(grpc.RpcError) as refused:
            _screen(child.target, no_cert)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        child.stop()


def test_each_use_makes_a_fresh_pki(tmp_path: Path) -> None:
    first = make_access_material(tmp_path / "one")
    second = make_access_material(tmp_path / "two")
    assert first.client.root_certificates != second.client.root_certificates
    assert first.client.token != second.client.token
