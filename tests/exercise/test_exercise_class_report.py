"""A class report from several trainees' drill runs against a real in-process server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import InProcessServer
from departure_screening.exercise.classreport import combine
from departure_screening.exercise.cli import main
from departure_screening.exercise.generate import GeneratedTraveller
from departure_screening.exercise.trainee import DebriefError, read_debrief

from exercise.drill_helpers import cambodia, drill_session

SEED = 4
COUNT = 8


def _class(target: str, root: Path) -> dict[str, list[GeneratedTraveller]]:
    """Three trainees of one exercise: cautious, careful but for one pilgrim, lenient."""
    first_genuine: list[str] = []

    def careful(item: GeneratedTraveller) -> str:
        if item.truth.at_risk:
            return "3"
        if not first_genuine:
            first_genuine.append(item.screening.request_id)
            return "3"  # postpones the first genuine traveller
        return "1"

    answers = {"T01": lambda _: "2", "T02": careful, "T03": lambda _: "1"}
    seen: dict[str, list[GeneratedTraveller]] = {}
    for trainee, answer in answers.items():
        _, _, travellers, presented = drill_session(
            target,
            scenario=cambodia(),
            seed=SEED,
            count=COUNT,
            trainee=trainee,
            answer=answer,
            out=root / trainee,
        )
        seen[trainee] = [travellers[i] for i in presented]
    return seen


def test_class_report_from_several_drills(
    shared_server: InProcessServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = _class(shared_server.target, tmp_path)
    presented = seen["T01"]
    genuine = sum(not item.truth.at_risk for item in presented)
    at_risk = COUNT - genuine
    out = tmp_path / "class"
    dirs = [str(tmp_path / t) for t in ("T03", "T01", "T02")]
    assert main(["class-report", *dirs, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "3 trainees, 24 decisions" in printed
    assert "class report:" in printed

    report = json.loads((out / "class-report.json").read_text())
    assert report["exercise"]["scenario"] == "cambodia-scam-recruitment"
    assert report["exercise"]["seed"] == SEED
    trainees = report["trainees"]
    assert list(trainees) == ["T01", "T02", "T03"]
    # T01 interviews everyone, T03 lets everyone go, T02 is right but for one genuine.
    assert trainees["T01"]["rates"]["false_alarm_rate"] == 1.0
    assert trainees["T01"]["rates"]["miss_rate"] == 0.0
    assert trainees["T03"]["rates"]["false_alarm_rate"] == 0.0
    assert trainees["T03"]["rates"]["miss_rate"] == 1.0
    assert trainees["T02"]["rates"]["postponed_genuine"] == 1
    assert trainees["T02"]["rates"]["right"] == COUNT - 1
    klass = report["class"]
    assert klass["answered"] == 3 * COUNT
    assert klass["false_alarms"] == genuine + 1
    assert klass["misses"] == at_risk
    assert klass["false_alarm_rate"] == round((genuine + 1) / (3 * genuine), 4)
    assert report["service"]["answered"] == COUNT, "each traveller once"

    # Per traveller: every trainee's action, counted.
    travellers = {t["request_id"]: t for t in report["travellers"]}
    assert set(travellers) == {item.screening.request_id for item in presented}
    postponed = next(item for item in presented if not item.truth.at_risk)
    for item in presented:
        line = travellers[item.screening.request_id]
        assert sum(line["actions"].values()) == 3
        assert line["at_risk"] == item.truth.at_risk
        assert line["case"] == item.truth.case
        # Two of three are right for everyone, but for the genuine traveller T02 postponed.
        assert line["right"] == (1 if item is postponed else 2)
        if item is postponed:
            assert line["actions"] == {
                "ACTION_PROCEED": 1,
                "ACTION_SECONDARY_INTERVIEW": 1,
                "ACTION_POSTPONE_PENDING_VERIFICATION": 1,
            }
    # The profile of the postponed genuine traveller is the most misjudged genuine one.
    profiles = report["profiles_most_misjudged"]
    shares = [p["wrong_share"] for p in profiles]
    assert shares == sorted(shares, reverse=True)
    top_genuine = next(p for p in profiles if not p["at_risk"])
    assert top_genuine["case"] == postponed.truth.case
    assert top_genuine["genuine_postponed"] >= 1
    assert all(p["officer"] for p in profiles)

    html = (out / "class-report.html").read_text()
    for heading in (
        "Each trainee beside the class",
        "Profiles most often misjudged",
        "Each traveller across the class",
    ):
        assert heading in html
    for trainee in ("T01", "T02", "T03"):
        assert f"<td>{trainee}</td>" in html
    for png in ("rates.png", "profiles.png", "travellers.png"):
        data = (out / png).read_bytes()
        assert data.startswith(b"\x89PNG") and f'src="{png}"' in html
    for item in presented:
        assert item.screening.traveller.passport_number not in html


def test_debriefs_of_different_exercises_do_not_combine(
    shared_server: InProcessServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for trainee, seed in (("T11", 5), ("T12", 6)):
        drill_session(
            shared_server.target,
            scenario=cambodia(),
            seed=seed,
            count=2,
            trainee=trainee,
            answer=lambda _: "1",
            out=tmp_path / trainee,
        )
    debriefs = [read_debrief(tmp_path / t) for t in ("T11", "T12")]
    with pytest.raises(DebriefError, match="not of one exercise"):
        combine(debriefs)
    with pytest.raises(DebriefError, match="more than one debrief for trainee T11"):
        combine([debriefs[0], debriefs[0]])
    args = ["class-report", str(tmp_path / "T11"), str(tmp_path / "T12")]
    assert main([*args, "--out", str(tmp_path / "class")]) == 2
    assert "not of one exercise" in capsys.readouterr().err
    assert main(["class-report", str(tmp_path / "nowhere"), "--out", str(tmp_path / "c")]) == 2
    assert "no debrief.json" in capsys.readouterr().err
    assert not (tmp_path / "class").exists()
