"""Decisions, history indicators, group alerts and mode separation over gRPC."""

from __future__ import annotations

import threading
import time

import grpc
import pytest
from conftest import InProcessServer
from departure_screening.v1 import screening_pb2 as pb
from support.builders import screening
from support.rpc import bad_fields, sample_value


def screen(server: InProcessServer, s: pb.Screening) -> pb.Assessment:
    return server.stub.Screen(pb.ScreenRequest(screening=s), timeout=10).assessment


def codes(a: pb.Assessment) -> set[str]:
    return {i.code for i in a.indicators}


def decide(
    server: InProcessServer, assessment_id: str, decision: int, note: str = ""
) -> pb.RecordedDecision:
    return server.stub.RecordDecision(
        pb.RecordDecisionRequest(
            assessment_id=assessment_id, officer_id="off-7", decision=decision, note=note
        )
    ).decision


def test_decisions_are_kept_in_order_and_counted(grpc_server: InProcessServer) -> None:
    a = screen(
        grpc_server, screening(trip__destination_country="KH", declaration__purpose=pb.PURPOSE_WORK)
    )
    assert a.recommended_action == pb.ACTION_POSTPONE_PENDING_VERIFICATION
    first = decide(grpc_server, a.assessment_id, pb.DECISION_POSTPONED, "no Disnaker letter")
    second = decide(grpc_server, a.assessment_id, pb.DECISION_CLEARED_AFTER_INTERVIEW)
    assert first.decided_at.ToNanoseconds() <= second.decided_at.ToNanoseconds()
    got = grpc_server.stub.GetAssessment(pb.GetAssessmentRequest(assessment_id=a.assessment_id))
    assert got.assessment == a
    assert [(d.decision, d.note, d.officer_id) for d in got.decisions] == [
        (pb.DECISION_POSTPONED, "no Disnaker letter", "off-7"),
        (pb.DECISION_CLEARED_AFTER_INTERVIEW, "", "off-7"),
    ]
    text = grpc_server.metrics_text()
    assert (
        sample_value(
            text,
            "depscreen_decisions_total",
            {
                "checkpoint": "CGK",
                "mode": "live",
                "decision": "postponed",
                "versus_recommendation": "same",
            },
        )
        == 1
    )
    assert (
        sample_value(
            text,
            "depscreen_decisions_total",
            {"decision": "cleared_after_interview", "versus_recommendation": "more_lenient"},
        )
        == 1
    )


def test_unknown_assessment_and_bad_decisions(grpc_server: InProcessServer) -> None:
    with pytest.raises(grpc.RpcError) as info:
        decide(grpc_server, "no-such-id", pb.DECISION_CLEARED)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as info:
        grpc_server.stub.GetAssessment(pb.GetAssessmentRequest(assessment_id="no-such-id"))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as info:
        grpc_server.stub.RecordDecision(pb.RecordDecisionRequest(note="n" * 501))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_fields(info.value) == ["assessment_id", "officer_id", "decision", "note"]


def test_prior_postponement_counts_earlier_trips_within_365_days(
    grpc_server: InProcessServer,
) -> None:
    passport = "P9990001"
    earlier = screen(
        grpc_server,
        screening(traveller__passport_number=passport, trip__departure_date="2025-03-02"),
    )
    decide(grpc_server, earlier.assessment_id, pb.DECISION_POSTPONED)
    decide(grpc_server, earlier.assessment_id, pb.DECISION_CLEARED)  # still counts
    within = screen(
        grpc_server,
        screening(traveller__passport_number=passport, trip__departure_date="2026-03-01"),
    )
    assert "PRIOR_POSTPONEMENT" in codes(within)
    beyond = screen(
        grpc_server,
        screening(traveller__passport_number=passport, trip__departure_date="2026-03-03"),
    )
    assert "PRIOR_POSTPONEMENT" not in codes(beyond)
    training = screen(
        grpc_server,
        screening(
            traveller__passport_number=passport,
            mode=pb.MODE_TRAINING,
            trip__departure_date="2026-03-01",
        ),
    )
    assert "PRIOR_POSTPONEMENT" not in codes(training)
    same_day = screen(
        grpc_server,
        screening(
            traveller__passport_number=passport,
            trip__departure_date="2025-03-02",
            trip__flight_number="GA821",
        ),
    )
    assert "PRIOR_POSTPONEMENT" not in codes(same_day)


def test_repeat_escort_needs_three_distinct_earlier_watchlist_trips(
    grpc_server: InProcessServer,
) -> None:
    escort = "E4440001"
    for day, flight, dest in [
        ("2026-01-05", "QZ1", "KH"),
        ("2026-01-05", "QZ1", "KH"),
        ("2026-01-12", "QZ2", "KH"),
        ("2026-01-19", "QZ3", "SG"),
        ("2025-11-02", "QZ4", "KH"),
    ]:
        screen(
            grpc_server,
            screening(
                trip__escort_passport_number=escort,
                trip__flight_number=flight,
                trip__departure_date=day,
                trip__destination_country=dest,
            ),
        )
    # Distinct watch-list trips within 90 days before 2026-02-01: QZ1, QZ2 (QZ3 is SG, QZ4 too old).
    probe = screen(
        grpc_server,
        screening(trip__escort_passport_number=escort, trip__departure_date="2026-02-01"),
    )
    assert "REPEAT_ESCORT" not in codes(probe)
    screen(
        grpc_server,
        screening(
            trip__escort_passport_number=escort,
            trip__flight_number="QZ5",
            trip__departure_date="2026-01-26",
            trip__destination_country="MM",
        ),
    )
    again = screen(
        grpc_server,
        screening(
            trip__escort_passport_number=escort,
            trip__departure_date="2026-02-01",
            trip__flight_number="QZ9",
        ),
    )
    assert "REPEAT_ESCORT" in codes(again)


def test_escort_is_not_a_member_and_retries_count_once(grpc_server: InProcessServer) -> None:
    escort = "E3330001"
    group = {"trip__escort_passport_number": escort, "trip__flight_number": "QZ262"}
    first = screening(**group)
    assert screen(grpc_server, first).group.members_screened == 1
    assert screen(grpc_server, first).group.members_screened == 1  # retry
    # The escort screened with themselves as escort is not a member.
    lead = screen(grpc_server, screening(traveller__passport_number=escort, **group))
    assert lead.group.members_screened == 1
    assert screen(grpc_server, screening(**group)).group.members_screened == 2
    live_third = screen(grpc_server, screening(mode=pb.MODE_TRAINING, **group))
    assert live_third.group.members_screened == 1  # training is a different group


def test_watch_alerts_name_the_earlier_members(grpc_server: InProcessServer) -> None:
    received: list[pb.Alert] = []
    watching = threading.Event()
    call = grpc_server.stub.WatchAlerts(pb.WatchAlertsRequest(checkpoint="SUB", mode=pb.MODE_LIVE))

    def listen() -> None:
        call.initial_metadata()
        watching.set()
        try:
            for resp in call:
                received.append(resp.alert)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.CANCELLED

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert watching.wait(10)
    group = {
        "checkpoint": "SUB",
        "trip__escort_passport_number": "E2220001",
        "trip__flight_number": "JT17",
        "trip__destination_country": "KH",
    }
    members = [screen(grpc_server, screening(**group)) for _ in range(4)]
    screen(grpc_server, screening(**{**group, "checkpoint": "CGK", "trip__flight_number": "JT18"}))
    deadline = time.monotonic() + 10
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    call.cancel()
    assert len(received) == 1
    alert = received[0]
    assert alert.kind == pb.ALERT_KIND_GROUP_FORMED
    assert list(alert.assessment_ids) == [members[0].assessment_id, members[1].assessment_id]
    assert alert.members_screened == 3 and alert.flight_number == "JT17"
    assert alert.group_key == members[0].group.group_key
    assert (alert.departure_date.year, alert.departure_date.month, alert.departure_date.day) == (
        2026,
        3,
        1,
    )
    assert (
        sample_value(
            grpc_server.metrics_text(),
            "depscreen_group_alerts_total",
            {"checkpoint": "SUB", "mode": "live"},
        )
        == 1
    )


def test_watch_alerts_refuses_unknown_checkpoint(grpc_server: InProcessServer) -> None:
    call = grpc_server.stub.WatchAlerts(pb.WatchAlertsRequest(checkpoint="XXX"))
    with pytest.raises(grpc.RpcError) as info:
        next(iter(call))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_fields(info.value) == ["checkpoint", "mode"]
