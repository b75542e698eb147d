"""``Screen`` and ``ListIndicators`` over loopback against a real server."""

from __future__ import annotations

import grpc
import pytest
from conftest import InProcessServer
from departure_screening.v1 import screening_pb2 as pb
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from support.builders import screening
from support.rpc import sample_value


def screen(server: InProcessServer, s: pb.Screening) -> pb.Assessment:
    return server.stub.Screen(pb.ScreenRequest(screening=s), timeout=10).assessment


def test_photo_editor_recruit_is_high_and_explained(grpc_server: InProcessServer) -> None:
    s = screening(
        trip__destination_country="KH",
        trip__has_return_ticket=False,
        trip__escort_passport_number="E7654321",
        observations=[pb.OBSERVATION_CARRIES_JOB_OFFER],
    )
    a = screen(grpc_server, s)
    assert (a.score, a.band, a.recommended_action) == (
        90,
        pb.RISK_BAND_HIGH,
        pb.ACTION_POSTPONE_PENDING_VERIFICATION,
    )
    assert [(i.code, i.weight) for i in a.indicators] == [
        ("WORK_WITHOUT_DISNAKER_RECOMMENDATION", 35),
        ("DESTINATION_WATCHLIST", 20),
        ("PURPOSE_DOCUMENT_MISMATCH", 20),
        ("NO_RETURN_TICKET", 10),
        ("TOURIST_ENTRY_TO_WATCHLIST", 5),
    ]
    work = a.indicators[0]
    assert work.title_id == "Tujuan bekerja tanpa rekomendasi Disnaker"
    assert list(work.legal_basis) == ["IMI-GR.01.01-1029/2017", "UU 18/2017 (PPMI)"]
    assert "Disnaker" in work.remedy
    assert work.evidence["observations"] == "OBSERVATION_CARRIES_JOB_OFFER"
    assert a.request_id == s.request_id and a.checkpoint == "CGK" and a.mode == pb.MODE_LIVE
    assert a.ruleset_version.startswith("imi-gr-1029-2017@1.0.0+")
    assert a.assessment_id and a.assessed_at.seconds > 0
    assert a.group.group_key and a.group.members_screened == 1
    assert "E7654321" not in str(a) and s.traveller.passport_number not in str(a)


def test_no_response_says_deny_or_refuse(grpc_server: InProcessServer) -> None:
    text = str(grpc_server.stub.ListIndicators(pb.ListIndicatorsRequest())).lower()
    a = screen(
        grpc_server, screening(trip__destination_country="KH", declaration__purpose=pb.PURPOSE_WORK)
    )
    for word in ("deny", "denied", "refuse"):
        assert word not in text and word not in str(a).lower()


def test_masked_escort_in_group_evidence(grpc_server: InProcessServer) -> None:
    a = screen(
        grpc_server,
        screening(
            trip__escort_passport_number="E7654321",
            observations=[pb.OBSERVATION_ACCOMPANIED_BY_RECRUITER],
        ),
    )
    (group,) = [i for i in a.indicators if i.code == "GROUP_WITH_RECRUITER"]
    assert group.evidence["escort_passport_masked"] == "*****321"


def test_retry_returns_the_stored_assessment_and_counts_once(grpc_server: InProcessServer) -> None:
    s = screening(trip__destination_country="KH")
    first = screen(grpc_server, s)
    again = screen(grpc_server, s)
    assert again == first
    text = grpc_server.metrics_text()
    assert (
        sample_value(
            text, "depscreen_screenings_total", {"checkpoint": "CGK", "mode": "live", "band": "low"}
        )
        == 1
    )


def test_same_request_id_different_content_is_already_exists(grpc_server: InProcessServer) -> None:
    s = screening()
    screen(grpc_server, s)
    changed = pb.Screening()
    changed.CopyFrom(s)
    changed.trip.destination_country = "KH"
    with pytest.raises(grpc.RpcError) as info:
        screen(grpc_server, changed)
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS


def test_list_indicators(grpc_server: InProcessServer) -> None:
    resp = grpc_server.stub.ListIndicators(pb.ListIndicatorsRequest())
    assert resp.ruleset_version.startswith("imi-gr-1029-2017@")
    by_code = {i.code: i for i in resp.indicators}
    assert len(by_code) == 13
    tour = by_code["LICENSED_TOUR_GROUP"]
    assert tour.weight == -15 and tour.mitigating
    dest = by_code["DESTINATION_WATCHLIST"]
    assert dest.weight == 20 and "watch-list" in dest.description and dest.title_id
    assert list(by_code["REPEAT_ESCORT"].legal_basis) == ["UU 21/2007 (TPPO)"]


def test_health_and_reflection(grpc_server: InProcessServer) -> None:
    health = health_pb2_grpc.HealthStub(grpc_server.channel)
    for name in ("", "departure_screening.v1.ScreeningService"):
        status = health.Check(health_pb2.HealthCheckRequest(service=name)).status
        assert status == health_pb2.HealthCheckResponse.SERVING
    refl = reflection_pb2_grpc.ServerReflectionStub(grpc_server.channel)
    responses = refl.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = {s.name for r in responses for s in r.list_services_response.service}
    assert "departure_screening.v1.ScreeningService" in names
    assert "grpc.health.v1.Health" in names


def test_metrics_count_live_and_training_apart(grpc_server: InProcessServer) -> None:
    screen(grpc_server, screening(trip__destination_country="KH", mode=pb.MODE_TRAINING))
    screen(grpc_server, screening(checkpoint="DPS"))
    text = grpc_server.metrics_text()
    q = sample_value
    assert (
        q(
            text,
            "depscreen_screenings_total",
            {"checkpoint": "CGK", "mode": "training", "band": "low"},
        )
        == 1
    )
    assert q(text, "depscreen_screenings_total", {"checkpoint": "CGK", "mode": "live"}) == 0
    assert (
        q(text, "depscreen_screenings_total", {"checkpoint": "DPS", "mode": "live", "band": "low"})
        == 1
    )
    assert (
        q(
            text,
            "depscreen_indicator_hits_total",
            {"checkpoint": "CGK", "mode": "training", "indicator": "DESTINATION_WATCHLIST"},
        )
        == 1
    )
    assert q(text, "depscreen_rpc_requests_total", {"method": "Screen", "code": "OK"}) == 2
    assert q(text, "depscreen_ruleset_info", {}) == 1
