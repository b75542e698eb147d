"""The trainee's own debrief of a drill, against a real in-process server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import InProcessServer
from departure_screening.exercise.drill import choose_presented
from departure_screening.exercise.generate import GeneratedTraveller, generate
from departure_screening.exercise.trainee import (
    INTERVIEW,
    POSTPONE,
    PROCEED,
    DebriefError,
    Decision,
    TraineeDebrief,
    check_trainee_id,
    read_debrief,
)
from departure_screening.v1 import screening_pb2 as pb

from exercise.drill_helpers import SteppingClock, cambodia, drill_session

SEED = 3


def _against_the_truth_badly(item: GeneratedTraveller) -> str:
    # Postpone every genuine traveller, let every recruit through: each decision wrong.
    return "1" if item.truth.at_risk else "3"


def test_each_decision_is_recorded_with_its_time(
    shared_server: InProcessServer, tmp_path: Path
) -> None:
    scenario = cambodia()
    debrief, text, travellers, presented = drill_session(
        shared_server.target,
        scenario=scenario,
        seed=SEED,
        count=8,
        trainee="T01",
        answer=_against_the_truth_badly,
        clock=SteppingClock(3.5),
        out=tmp_path / "T01",
    )
    assert [d.turn for d in debrief.decisions] == list(range(1, 9))
    assert [d.request_id for d in debrief.decisions] == [
        travellers[i].screening.request_id for i in presented
    ]
    assert all(d.seconds == 3.5 for d in debrief.decisions)
    assert debrief.median_seconds == 3.5
    for d, i in zip(debrief.decisions, presented, strict=True):
        truth = travellers[i].truth
        assert (d.at_risk, d.case) == (truth.at_risk, truth.case)
        assert d.action == (PROCEED if truth.at_risk else POSTPONE)
        assert not d.right
        # What the service recommended, asked again: a retry returns the stored answer.
        again = shared_server.stub.Screen(
            pb.ScreenRequest(screening=travellers[i].screening), timeout=30
        ).assessment
        assert d.service_action == pb.Action.Name(again.recommended_action)
        assert d.service_score == again.score
        assert [x.code for x in d.indicators] == [x.code for x in again.indicators]
        assert d.overrode == (d.action != d.service_action)
    assert "What settles it at the counter:" in text

    genuine = [d.turn for d in debrief.decisions if not d.at_risk]
    at_risk = [d.turn for d in debrief.decisions if d.at_risk]
    assert genuine and at_risk
    assert [d.turn for d in debrief.genuine_postponed] == genuine
    assert [d.turn for d in debrief.recruits_let_through] == at_risk
    r = debrief.rates
    assert (r.false_alarm_rate, r.miss_rate, r.right) == (1.0, 1.0, 0)
    assert r.postponed_genuine == len(genuine)
    # The service was right for at least one of them: every such case is a wrong override.
    assert debrief.service.right > 0
    assert all(not d.right for d in debrief.overrides)
    assert len(debrief.overrides) >= debrief.service.right

    raw = json.loads((tmp_path / "T01" / "debrief.json").read_text())
    assert raw["trainee"] == "T01"
    assert raw["exercise"]["scenario"] == scenario.name and raw["exercise"]["seed"] == SEED
    assert raw["genuine_postponed"] == genuine
    assert raw["recruits_let_through"] == at_risk
    assert raw["overrides"]["right"] == []
    assert raw["overrides"]["wrong"] == [d.turn for d in debrief.overrides]
    assert raw["decisions"][0]["seconds"] == 3.5
    for d in raw["decisions"]:
        assert d["passport"].startswith("*"), "passports are masked"
    for item in travellers:
        assert item.screening.traveller.passport_number not in json.dumps(raw)
    # Every profile and case seen comes with what settles it.
    assert set(raw["guidance"]) == {d.case for d in debrief.decisions}
    assert all(g["officer"] for g in raw["guidance"].values())
    assert read_debrief(tmp_path / "T01") == debrief

    md = (tmp_path / "T01" / "debrief.md").read_text()
    assert "# Drill debrief: trainee T01" in md
    assert "## Genuine travellers you postponed" in md
    assert "## Recruits you let through" in md
    assert "## Where you overrode the service and were wrong" in md
    first_wrong = debrief.overrides[0]
    assert f"### Turn {first_wrong.turn}: {first_wrong.case}" in md
    for code in first_wrong.indicators:
        assert f"`{code.code}` ({code.weight:+d}): {code.remedy}" in md
    assert "What settles it at the counter:" in md


def test_overriding_the_service_rightly(shared_server: InProcessServer) -> None:
    scenario = cambodia()
    debrief, _, _, _ = drill_session(
        shared_server.target,
        scenario=scenario,
        seed=SEED,
        count=10,
        trainee="T02",
        # The right answer every time: an override is right whenever it happens.
        answer=lambda item: "3" if item.truth.at_risk else "1",
    )
    assert debrief.rates.right == debrief.rates.answered == 10
    assert debrief.rates.false_alarm_rate == 0.0 and debrief.rates.miss_rate == 0.0
    wrong_service = [d for d in debrief.decisions if not d.service_right]
    assert wrong_service, "the shipped scenario gives the service hard cases"
    assert set(wrong_service) <= set(debrief.overrides)
    assert all(d.right for d in debrief.overrides)
    assert not debrief.genuine_postponed and not debrief.recruits_let_through


def test_hard_profiles_come_to_the_counter() -> None:
    scenario = cambodia()
    travellers = generate(scenario, SEED)
    chosen = choose_presented(travellers, 12, SEED)
    genuine = {travellers[i].truth.case for i in chosen if not travellers[i].truth.at_risk}
    assert len(genuine) == 6, "one profile after another, not only holiday makers"


def _decision(action: str, service: str, *, at_risk: bool) -> Decision:
    return Decision(
        turn=1,
        request_id="r",
        passport="*****123",
        case="c",
        at_risk=at_risk,
        step="",
        action=action,
        seconds=1.0,
        service_action=service,
        service_band="RISK_BAND_LOW",
        service_score=0,
    )


@pytest.mark.parametrize(
    ("action", "service", "at_risk", "outcome", "versus", "right"),
    [
        (PROCEED, PROCEED, False, "genuine cleared", "same", True),
        (INTERVIEW, PROCEED, False, "genuine interviewed", "stricter", False),
        (POSTPONE, INTERVIEW, False, "genuine postponed", "stricter", False),
        (PROCEED, INTERVIEW, True, "recruit let through", "more lenient", False),
        (INTERVIEW, POSTPONE, True, "recruit stopped", "more lenient", True),
    ],
)
def test_decision_judgement(
    action: str, service: str, at_risk: bool, outcome: str, versus: str, right: bool
) -> None:
    d = _decision(action, service, at_risk=at_risk)
    assert (d.outcome, d.versus_service, d.right) == (outcome, versus, right)
    assert d.overrode == (action != service)
    assert Decision.from_json(d.to_json()) == d


@pytest.mark.parametrize("text", ["T07", "class3-07", "bdg_2024_11"])
def test_trainee_ids(text: str) -> None:
    assert check_trainee_id(text) == text


@pytest.mark.parametrize("text", ["", "Siti Rahma", "Budi", "T 07", "x" * 40 + "1", "-T1"])
def test_a_name_is_not_a_trainee_id(text: str) -> None:
    with pytest.raises(ValueError, match="not a trainee id"):
        check_trainee_id(text)


def test_unreadable_debriefs(tmp_path: Path) -> None:
    with pytest.raises(DebriefError, match=r"no debrief\.json"):
        read_debrief(tmp_path)
    (tmp_path / "debrief.json").write_text('{"format": "other"}')
    with pytest.raises(DebriefError, match="not a drill debrief"):
        read_debrief(tmp_path)
    (tmp_path / "debrief.json").write_text("{")
    with pytest.raises(DebriefError, match="cannot read"):
        read_debrief(tmp_path)


def test_a_debrief_round_trips(shared_server: InProcessServer, tmp_path: Path) -> None:
    debrief, *_ = drill_session(
        shared_server.target,
        scenario=cambodia(),
        seed=SEED,
        count=4,
        trainee="T09",
        answer=lambda item: "2",
        out=tmp_path,
    )
    assert isinstance(read_debrief(tmp_path / "debrief.json"), TraineeDebrief)
    assert read_debrief(tmp_path) == debrief
