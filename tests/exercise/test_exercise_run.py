"""The streaming runner against a stand-in servicer: ordering, decisions, per-item errors.

The real service is exercised in test_exercise_e2e.py; this stand-in lets the tests
see the order in which screenings and decisions reach the server, and play a server
that does not implement RecordDecision.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from departure_screening.exercise.debrief import compute_debrief
from departure_screening.exercise.generate import GeneratedTraveller, generate
from departure_screening.exercise.run import ExerciseError, run_exercise
from departure_screening.exercise.scenario import Scenario
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc
from google.rpc import status_pb2


class StandIn(pb_grpc.ScreeningServiceServicer):  # type: ignore[misc]
    def __init__(
        self, *, decisions: bool, reject: frozenset[str] = frozenset(), hang_after: int = -1
    ) -> None:
        self.decisions = decisions
        self.reject = reject
        self.hang_after = hang_after
        self.release = threading.Event()
        self.events: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def ScreenManifest(
        self, request_iterator: Iterator[pb.ScreenManifestRequest], context: Any
    ) -> Iterator[pb.ScreenManifestResponse]:
        for request in request_iterator:
            s = request.screening
            with self.lock:
                self.events.append(("screen", s.request_id))
                if len(self.events) > self.hang_after >= 0:
                    self.release.wait(30)
            if s.request_id in self.reject:
                yield pb.ScreenManifestResponse(
                    error=status_pb2.Status(code=3, message="screening.trip: rejected")
                )
                continue
            flagged = s.trip.destination_country == "KH"
            yield pb.ScreenManifestResponse(
                assessment=pb.Assessment(
                    assessment_id=f"a-{s.request_id}",
                    request_id=s.request_id,
                    mode=s.mode,
                    score=40 if flagged else 0,
                    band=pb.RISK_BAND_ELEVATED if flagged else pb.RISK_BAND_LOW,
                    recommended_action=(
                        pb.ACTION_SECONDARY_INTERVIEW if flagged else pb.ACTION_PROCEED
                    ),
                    ruleset_version="stand-in@1",
                )
            )

    def RecordDecision(
        self, request: pb.RecordDecisionRequest, context: Any
    ) -> pb.RecordDecisionResponse:
        if not self.decisions:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not implemented!")
        with self.lock:
            self.events.append(("decide", request.assessment_id))
        assert request.decision == pb.DECISION_POSTPONED
        assert request.officer_id
        return pb.RecordDecisionResponse(
            decision=pb.RecordedDecision(
                assessment_id=request.assessment_id, decision=request.decision
            )
        )


def _serve(servicer: StandIn) -> tuple[Any, str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pb_grpc.add_ScreeningServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"


@pytest.fixture
def travellers(small_scenario: Scenario) -> list[GeneratedTraveller]:
    return generate(small_scenario, 31)


def test_decisions_are_recorded_before_later_screenings(
    small_scenario: Scenario, travellers: list[GeneratedTraveller]
) -> None:
    servicer = StandIn(decisions=True)
    server, target = _serve(servicer)
    try:
        result = run_exercise(travellers, target, progress=False)
    finally:
        server.stop(0)
    assert not result.not_evaluable
    assert [r.request_id for r in result.results] == [s.request_id for s, _ in travellers]
    screened = [rid for kind, rid in servicer.events if kind == "screen"]
    assert screened == [s.request_id for s, _ in travellers], "sent in generation order"
    for i, (s, truth) in enumerate(travellers):
        if not truth.decision:
            continue
        decided_at = servicer.events.index(("decide", f"a-{s.request_id}"))
        later = [rid for rid in screened[i + 1 :]]
        for rid in later:
            assert servicer.events.index(("screen", rid)) > decided_at
    assert all(r.latency_ms is not None and r.latency_ms >= 0 for r in result.results)
    assert result.ruleset_version == "stand-in@1"


def test_unimplemented_record_decision_makes_the_case_not_evaluable(
    small_scenario: Scenario, travellers: list[GeneratedTraveller]
) -> None:
    server, target = _serve(StandIn(decisions=False))
    try:
        result = run_exercise(travellers, target, progress=False)
    finally:
        server.stop(0)
    assert list(result.not_evaluable) == ["retry"]
    assert "does not implement RecordDecision" in result.not_evaluable["retry"]
    d = compute_debrief(result.results, small_scenario, seed=31, not_evaluable=result.not_evaluable)
    retry = next(c for c in d.planted_cases if c.case == "retry")
    assert retry.outcome == "not_evaluable"
    assert d.evaluated == len(travellers) - retry.travellers


def test_a_rejected_item_does_not_stop_the_stream(
    small_scenario: Scenario, travellers: list[GeneratedTraveller]
) -> None:
    bad = travellers[3].screening.request_id
    server, target = _serve(StandIn(decisions=True, reject=frozenset({bad})))
    try:
        result = run_exercise(travellers, target, progress=False)
    finally:
        server.stop(0)
    assert len(result.results) == len(travellers)
    rejected = [r for r in result.results if r.observed is None]
    assert [r.request_id for r in rejected] == [bad]
    assert rejected[0].error == "INVALID_ARGUMENT: screening.trip: rejected"
    d = compute_debrief(result.results, small_scenario, seed=31)
    assert [x[1] for x in d.rejected] == [bad]


def test_only_training_screenings_are_sent(travellers: list[GeneratedTraveller]) -> None:
    live = pb.Screening()
    live.CopyFrom(travellers[0].screening)
    live.mode = pb.MODE_LIVE
    with pytest.raises(ExerciseError, match="MODE_TRAINING"):
        run_exercise([GeneratedTraveller(live, travellers[0].truth)], "127.0.0.1:9", progress=False)


def test_a_stuck_service_stops_the_run(travellers: list[GeneratedTraveller]) -> None:
    servicer = StandIn(decisions=True, hang_after=5)
    server, target = _serve(servicer)
    try:
        with pytest.raises(ExerciseError, match="no answer from the service for 1 s"):
            run_exercise(travellers, target, progress=False, stall_timeout=1.0)
    finally:
        servicer.release.set()
        server.stop(0)
