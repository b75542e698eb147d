"""Operations: one JSON log line per call without personal data; gRPC server options."""

from __future__ import annotations

import json

import grpc
import pytest
from conftest import start_in_process
from departure_screening.serving.config import ServeConfig
from departure_screening.serving.server import MAX_STREAMS_PER_CONNECTION, server_options
from departure_screening.v1 import screening_pb2 as pb
from support.builders import screening
from support.servers import ServerProcess

PASSPORTS = ("P7654321", "Q1112223", "M5550001", "M5550002")
ESCORT = "E9990001"


def rpc_lines(log: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    return [line for line in lines if "method" in line]


def test_json_logs_give_one_line_per_call_without_personal_data() -> None:
    server = ServerProcess(store="memory:", extra_args=["--log-format", "json"]).start()
    try:
        stub = server.stub()
        ok = screening(traveller__passport_number=PASSPORTS[0], trip__escort_passport_number=ESCORT)
        assessment = stub.Screen(pb.ScreenRequest(screening=ok), timeout=10).assessment
        bad = screening(traveller__passport_number=PASSPORTS[1], trip__destination_country="kh")
        with pytest.raises(grpc.RpcError):
            stub.Screen(pb.ScreenRequest(screening=bad), timeout=10)
        stub.RecordDecision(
            pb.RecordDecisionRequest(
                assessment_id=assessment.assessment_id,
                officer_id="officer-1",
                decision=pb.DECISION_CLEARED,
            ),
            timeout=10,
        )
        stub.GetAssessment(
            pb.GetAssessmentRequest(assessment_id=assessment.assessment_id), timeout=10
        )
        manifest = [
            pb.ScreenManifestRequest(screening=screening(traveller__passport_number=p))
            for p in PASSPORTS[2:]
        ]
        assert len(list(stub.ScreenManifest(iter(manifest), timeout=10))) == 2
    finally:
        assert server.terminate() == 0
    log = server.log()
    lines = rpc_lines(log)  # every line of the log is a JSON object
    for line in lines:
        assert {"method", "code", "latency_ms", "request_id", "assessment_id"} <= set(line)
        assert isinstance(line["latency_ms"], float) and line["latency_ms"] >= 0
    by_call = [(line["method"], line["code"]) for line in lines]
    assert by_call == [
        ("Screen", "OK"),
        ("Screen", "INVALID_ARGUMENT"),
        ("RecordDecision", "OK"),
        ("GetAssessment", "OK"),
        ("ScreenManifest", "OK"),
    ]
    screen_ok, screen_bad, decision, got, stream = lines
    assert screen_ok["request_id"] == ok.request_id
    assert screen_ok["assessment_id"] == assessment.assessment_id
    assert screen_bad["request_id"] == bad.request_id and screen_bad["assessment_id"] == ""
    assert decision["assessment_id"] == got["assessment_id"] == assessment.assessment_id
    assert stream["items"] == 2
    for number in (*PASSPORTS, ESCORT):
        assert number not in log


def test_text_logs_stay_the_default() -> None:
    assert ServeConfig().log_format == "text"


def test_server_options_are_set_on_purpose() -> None:
    options = dict(server_options(ServeConfig(), worker=False))
    assert options["grpc.max_connection_age_ms"] == 300_000
    assert options["grpc.max_connection_age_grace_ms"] == 30_000
    assert options["grpc.keepalive_permit_without_calls"] == 1
    assert options["grpc.http2.min_recv_ping_interval_without_data_ms"] == 10_000
    assert options["grpc.http2.max_ping_strikes"] == 2
    assert options["grpc.max_concurrent_streams"] == MAX_STREAMS_PER_CONNECTION
    assert options["grpc.max_receive_message_length"] == 64 * 1024


def test_an_old_connection_is_closed_so_clients_rebalance() -> None:
    server = start_in_process(max_connection_age_seconds=1.0, max_connection_age_grace_seconds=1.0)
    try:
        stub = server.stub
        watch = stub.WatchAlerts(pb.WatchAlertsRequest(checkpoint="CGK", mode=pb.MODE_LIVE))
        assert watch.initial_metadata() is not None
        # The connection is closed after its age and grace: the console reconnects.
        with pytest.raises(grpc.RpcError) as info:
            next(watch)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        # The same channel connects again by itself.
        assert stub.Screen(pb.ScreenRequest(screening=screening()), timeout=10).assessment
    finally:
        server.channel.close()
        server.running.stop(0)
