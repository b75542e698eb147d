"""Preliminary screenings over gRPC: what they leave out, what they never recommend, and
how the counter screening that supersedes them counts the traveller once."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml
from conftest import InProcessServer, start_in_process
from departure_screening.screening.backtest import run_backtest
from departure_screening.screening.ruleset import default_rules_dir, load_ruleset
from departure_screening.store.base import ReplayRecord
from departure_screening.v1 import screening_pb2 as pb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.builders import pb_date, screening
from support.rpc import bad_fields, sample_value


def preliminary(**changes: object) -> pb.Screening:
    """What a manifest item carries: no declaration, no observations, no return ticket."""
    s = screening(**changes)  # type: ignore[arg-type]
    s.stage = pb.STAGE_PRELIMINARY
    s.ClearField("declaration")
    s.trip.has_return_ticket = False
    return s


def counter_of(p: pb.Screening, **changes: object) -> pb.Screening:
    """The same passport on the same flight and date, now at the counter."""
    same = {
        "traveller__passport_number": p.traveller.passport_number,
        "traveller__birth_date": p.traveller.birth_date,
        "trip__flight_number": p.trip.flight_number,
        "trip__departure_date": p.trip.departure_date,
        "trip__destination_country": p.trip.destination_country,
    }
    return screening(**{**same, **changes})


def screen(server: InProcessServer, s: pb.Screening) -> pb.Assessment:
    return server.stub.Screen(pb.ScreenRequest(screening=s), timeout=10).assessment


def counted(server: InProcessServer, family: str, band: str) -> float:
    return sample_value(
        server.metrics_text(), family, {"checkpoint": "CGK", "mode": "live", "band": band}
    )


def test_a_preliminary_evaluates_only_what_airline_data_gives(
    grpc_server: InProcessServer,
) -> None:
    p = preliminary(trip__destination_country="KH")
    p.traveller.ClearField("passport_issue_date")  # the carrier did not send it
    a = screen(grpc_server, p)
    assert a.stage == pb.STAGE_PRELIMINARY
    assert [i.code for i in a.indicators] == ["DESTINATION_WATCHLIST"]
    assert a.score == 20
    # Every indicator needing the declaration, observations, escort, return ticket or
    # issue date: the rules say so (`needs`), sorted.
    assert list(a.not_evaluated) == sorted(a.not_evaluated)
    assert {
        "WORK_WITHOUT_DISNAKER_RECOMMENDATION",
        "NO_RETURN_TICKET",
        "GROUP_WITH_RECRUITER",
        "PASSPORT_RECENTLY_ISSUED",
        "LICENSED_TOUR_GROUP",
    } <= set(a.not_evaluated)
    assert not {"DESTINATION_WATCHLIST", "PRIOR_POSTPONEMENT"} & set(a.not_evaluated)
    # No return ticket is not held against a traveller whose ticket nobody has seen.
    assert "NO_RETURN_TICKET" not in {i.code for i in a.indicators}
    stored = grpc_server.stub.GetAssessment(pb.GetAssessmentRequest(assessment_id=a.assessment_id))
    assert stored.assessment == a


def test_counter_supersedes_the_preliminary_and_counts_once(
    grpc_server: InProcessServer,
) -> None:
    p = preliminary(trip__destination_country="KH", trip__flight_number="QZ262")
    early = screen(grpc_server, p)
    assert counted(grpc_server, "depscreen_preliminary_screenings_total", "low") == 1
    assert counted(grpc_server, "depscreen_screenings_total", "low") == 0

    at_counter = screen(grpc_server, counter_of(p, declaration__purpose=pb.PURPOSE_WORK))
    assert at_counter.stage == pb.STAGE_COUNTER
    assert at_counter.supersedes == early.assessment_id
    assert list(at_counter.not_evaluated) == []
    assert at_counter.recommended_action == pb.ACTION_POSTPONE_PENDING_VERIFICATION
    assert counted(grpc_server, "depscreen_screenings_total", "high") == 1
    assert counted(grpc_server, "depscreen_preliminary_screenings_total", "low") == 1
    # A second counter screening of that trip finds nothing left to supersede.
    again = screen(grpc_server, counter_of(p))
    assert again.supersedes == ""
    # Another flight's counter screening supersedes nothing.
    other = screen(grpc_server, counter_of(p, trip__flight_number="GA820"))
    assert other.supersedes == ""


def test_groups_and_history_count_the_traveller_once(grpc_server: InProcessServer) -> None:
    escort = "E7654321"
    travellers = [preliminary(trip__flight_number="QZ262") for _ in range(3)]
    for p in travellers:
        p.trip.escort_passport_number = escort  # ignored: airline data names no escort
        a = screen(grpc_server, p)
        assert a.group.group_key == "" and a.group.members_screened == 0
    members = [
        screen(grpc_server, counter_of(p, trip__escort_passport_number=escort)) for p in travellers
    ]
    assert [m.group.members_screened for m in members] == [1, 2, 3]
    assert ["GROUP_WITH_RECRUITER" in {i.code for i in m.indicators} for m in members] == [
        False,
        False,
        True,
    ]
    # Postponed on the preliminary and on the counter assessment of one trip: one trip.
    first = travellers[0]
    early = grpc_server.stub.GetAssessment(
        pb.GetAssessmentRequest(assessment_id=members[0].supersedes)
    ).assessment
    for assessment_id in (early.assessment_id, members[0].assessment_id):
        grpc_server.stub.RecordDecision(
            pb.RecordDecisionRequest(
                assessment_id=assessment_id, officer_id="off-1", decision=pb.DECISION_POSTPONED
            )
        )
    later = screen(
        grpc_server,
        counter_of(first, trip__flight_number="QZ263", trip__departure_date="2026-03-20"),
    )
    fired = {i.code: i for i in later.indicators}
    assert fired["PRIOR_POSTPONEMENT"].evidence["prior_postponements"] == "1"


@pytest.fixture(scope="module")
def strict_bands_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """Rules whose HIGH band starts at 20, so a watch-list destination alone is HIGH."""
    rules = tmp_path_factory.mktemp("rules") / "rules"
    shutil.copytree(default_rules_dir(), rules, ignore=shutil.ignore_patterns("tests"))
    meta_path = Path(rules / "ruleset.yaml")
    meta = yaml.safe_load(meta_path.read_text())
    meta["bands"][1]["min_score"] = 10
    meta["bands"][2]["min_score"] = 20
    meta_path.write_text(yaml.safe_dump(meta))
    server = start_in_process(rules=rules)
    yield server
    server.channel.close()
    server.running.stop(0)


def test_a_preliminary_never_recommends_postponement(
    strict_bands_server: InProcessServer,
) -> None:
    p = preliminary(trip__destination_country="KH")
    early = screen(strict_bands_server, p)
    assert early.band == pb.RISK_BAND_HIGH
    assert early.recommended_action == pb.ACTION_SECONDARY_INTERVIEW
    at_counter = screen(strict_bands_server, counter_of(p))
    assert at_counter.band == pb.RISK_BAND_HIGH
    assert at_counter.recommended_action == pb.ACTION_POSTPONE_PENDING_VERIFICATION


def refused_fields(server: InProcessServer, s: pb.Screening) -> list[str]:
    with pytest.raises(grpc.RpcError) as info:
        server.stub.Screen(pb.ScreenRequest(screening=s), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return bad_fields(info.value)


def test_a_declaration_in_a_preliminary_is_refused(grpc_server: InProcessServer) -> None:
    p = preliminary()
    p.declaration.purpose = pb.PURPOSE_TOURISM
    assert refused_fields(grpc_server, p) == ["screening.declaration"]
    counter = screening()
    counter.traveller.ClearField("passport_issue_date")
    assert refused_fields(grpc_server, counter) == ["screening.traveller.passport_issue_date"]
    unknown = screening()
    unknown.stage = 9
    assert refused_fields(grpc_server, unknown) == ["screening.stage"]
    assert counted(grpc_server, "depscreen_preliminary_screenings_total", "low") == 0
    assert counted(grpc_server, "depscreen_screenings_total", "low") == 0


# Each bad field of a preliminary screening, and the one violation it gives.
BAD_FIELDS: dict[str, tuple[str, object]] = {
    "screening.declaration": ("declaration__visa_type", pb.VISA_TYPE_TOURIST),
    "screening.traveller.passport_number": ("traveller__passport_number", "x-1"),
    "screening.traveller.passport_issue_date": ("traveller__passport_issue_date", "2026-03-05"),
    "screening.traveller.birth_date": ("traveller__birth_date", "2026-04-01"),
    "screening.trip.destination_country": ("trip__destination_country", "ZZ"),
    "screening.trip.flight_number": ("trip__flight_number", "q"),
}


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chosen=st.sets(st.sampled_from(sorted(BAD_FIELDS)), min_size=1))
def test_bad_preliminary_fields_each_give_one_violation_and_store_nothing(
    shared_server: InProcessServer, chosen: set[str]
) -> None:
    p = preliminary()
    for path in chosen:
        key, value = BAD_FIELDS[path]
        if key.endswith("_date"):
            target = p
            *parts, name = key.split("__")
            for part in parts:
                target = getattr(target, part)
            getattr(target, name).CopyFrom(pb_date(str(value)))
        elif key.startswith("declaration__"):
            setattr(p.declaration, key.split("__")[1], value)
        else:
            target = p
            *parts, name = key.split("__")
            for part in parts:
                target = getattr(target, part)
            setattr(target, name, value)
    before = shared_server.metrics_text()
    assert sorted(refused_fields(shared_server, p)) == sorted(chosen)
    after = shared_server.metrics_text()  # nothing counted but the error
    for family in ("depscreen_screenings_total", "depscreen_preliminary_screenings_total"):
        for band in ("low", "elevated", "high"):
            labels = {"checkpoint": "CGK", "mode": "live", "band": band}
            assert sample_value(after, family, labels) == sample_value(before, family, labels)


def test_the_backtest_skips_preliminary_assessments(grpc_server: InProcessServer) -> None:
    """A preliminary assessment is a preview of its counter screening: replayed once."""
    p = preliminary(trip__destination_country="KH")
    early, at_counter = screen(grpc_server, p), screen(grpc_server, counter_of(p))
    store = grpc_server.running.app.screener.store
    records = [
        ReplayRecord(store.get_assessment(a.assessment_id)[0], dt.date(2026, 3, 1), None)
        for a in (early, at_counter)
    ]
    report = run_backtest(records, load_ruleset(default_rules_dir()))
    assert (report.screenings, report.skipped) == (1, 1)
