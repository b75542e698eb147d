"""RecordDecision.request_id: a retry returns the stored decision and counts once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from conftest import InProcessServer, start_in_process
from departure_screening.v1 import screening_pb2 as pb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.builders import screening
from support.rpc import bad_fields, sample_value

DECISIONS = "depscreen_decisions_total"


@pytest.fixture(params=["memory", "sqlite"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[InProcessServer]:
    store = "memory:" if request.param == "memory" else f"sqlite:///{tmp_path / 'd.db'}"
    srv = start_in_process(store)
    yield srv
    srv.channel.close()
    srv.running.stop(0)


def _decide(server: InProcessServer, **fields: object) -> pb.RecordedDecision:
    return server.stub.RecordDecision(pb.RecordDecisionRequest(**fields), timeout=10).decision  # type: ignore[arg-type]


def test_a_retry_returns_the_stored_decision_and_counts_once(server: InProcessServer) -> None:
    a = server.stub.Screen(pb.ScreenRequest(screening=screening()), timeout=10).assessment
    request = {
        "assessment_id": a.assessment_id,
        "officer_id": "off-7",
        "decision": pb.DECISION_CLEARED,
        "note": "ok",
        "request_id": "CGK-dec-000001",
    }
    first = _decide(server, **request)
    again = _decide(server, **request)
    assert again == first  # the stored one, its timestamp included
    labels = {"decision": "cleared", "checkpoint": "CGK", "mode": "live"}
    assert sample_value(server.metrics_text(), DECISIONS, labels) == 1
    stored = server.stub.GetAssessment(pb.GetAssessmentRequest(assessment_id=a.assessment_id))
    assert len(stored.decisions) == 1

    with pytest.raises(grpc.RpcError) as conflict:
        _decide(server, **{**request, "decision": pb.DECISION_POSTPONED})
    assert conflict.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert sample_value(server.metrics_text(), DECISIONS, labels) == 1
    # Without a request id every call is a decision of its own, as before.
    _decide(server, **{**request, "request_id": ""})
    _decide(server, **{**request, "request_id": ""})
    assert sample_value(server.metrics_text(), DECISIONS, labels) == 3


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request_id=st.text(min_size=1, max_size=80))
def test_a_bad_request_id_is_one_field_violation(server: InProcessServer, request_id: str) -> None:
    ok = len(request_id) <= 64 and all(
        c.isascii() and (c.isalnum() or c in "._:-") for c in request_id
    )
    try:
        _decide(
            server,
            assessment_id="no-such-assessment",
            officer_id="off-7",
            decision=pb.DECISION_CLEARED,
            request_id=request_id,
        )
    except grpc.RpcError as error:
        if ok:
            assert error.code() == grpc.StatusCode.NOT_FOUND
        else:
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert bad_fields(error) == ["request_id"]
    else:  # pragma: no cover - the assessment does not exist
        pytest.fail("a decision on an unknown assessment was recorded")
