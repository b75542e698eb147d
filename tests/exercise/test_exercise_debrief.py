"""Debrief metrics, computed from hand-made results, and the report files they make."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from departure_screening.exercise.debrief import (
    compute_debrief,
    latency_summary,
    percentile,
)
from departure_screening.exercise.generate import Truth
from departure_screening.exercise.report import write_report
from departure_screening.exercise.results import FiredSummary, ItemResult, Observed
from departure_screening.exercise.scenario import Scenario

BAND_FOR = {"LOW": "RISK_BAND_LOW", "ELEVATED": "RISK_BAND_ELEVATED", "HIGH": "RISK_BAND_HIGH"}


def _result(
    index: int,
    truth: Truth,
    band: str | None,
    score: int = 0,
    codes: tuple[tuple[str, int], ...] = (),
    latency: float = 1.0,
) -> ItemResult:
    observed = (
        None
        if band is None
        else Observed(
            assessment_id=f"a{index}",
            score=score,
            band=BAND_FOR[band],
            action="ACTION_PROCEED",
            indicators=tuple(FiredSummary(code=c, weight=w) for c, w in codes),
            ruleset_version="test@1",
        )
    )
    return ItemResult(
        index=index,
        request_id=f"r{index}",
        passport="*******123",
        truth=truth,
        observed=observed,
        error="" if observed else "INVALID_ARGUMENT: bad",
        latency_ms=latency,
    )


GENUINE = Truth(at_risk=False, case="tourist", planted=False)
RECRUIT = Truth(at_risk=True, case="recruit", planted=True)
G1 = Truth(at_risk=True, case="event-group", planted=True, group="event-group#1")
G2 = Truth(at_risk=True, case="event-group", planted=True, group="event-group#2")
RETRY_1 = Truth(
    at_risk=True, case="retry", planted=True, step="first attempt", decision="postponed"
)
RETRY_2 = Truth(at_risk=True, case="retry", planted=True, step="second attempt")
DW = ("DESTINATION_WATCHLIST", 20)
GROUP = ("GROUP_WITH_RECRUITER", 25)


def _results() -> list[ItemResult]:
    return [
        _result(0, GENUINE, "LOW", 0, latency=1.0),
        _result(1, GENUINE, "LOW", 10, (("NO_RETURN_TICKET", 10),), latency=2.0),
        _result(2, GENUINE, "ELEVATED", 35, (DW, ("NO_RETURN_TICKET", 10)), latency=3.0),
        _result(3, RECRUIT, "HIGH", 75, (DW, ("WORK_WITHOUT_DISNAKER_RECOMMENDATION", 35))),
        _result(4, RECRUIT, "LOW", 25, (DW, ("TOURIST_ENTRY_TO_WATCHLIST", 5))),
        _result(5, G1, "LOW", 25, (DW,)),
        _result(6, G1, "ELEVATED", 50, (GROUP, DW)),
        _result(7, G2, "LOW", 25, (DW,)),
        _result(8, G2, "LOW", 25, (DW,)),
        _result(9, RETRY_1, "HIGH", 90, (DW,)),
        _result(10, RETRY_2, "ELEVATED", 40, (DW, ("PRIOR_POSTPONEMENT", 15))),
        _result(11, GENUINE, None),
        _result(12, GENUINE, "LOW", 10, (DW, ("LICENSED_TOUR_GROUP", -15))),
    ]


def test_confusion_precision_recall(small_scenario: Scenario) -> None:
    d = compute_debrief(_results(), small_scenario, seed=3, ruleset_version="test@1")
    c = d.confusion
    assert (c.tp, c.fp, c.fn, c.tn) == (4, 1, 4, 3)
    assert c.precision == pytest.approx(4 / 5)
    assert c.recall == pytest.approx(4 / 8)
    assert d.travellers == 13
    assert d.evaluated == 12
    assert d.planted_at_risk == 8
    assert [r[0] for r in d.rejected] == [11]


def test_groups_detected_when_one_member_has_the_indicator(small_scenario: Scenario) -> None:
    d = compute_debrief(_results(), small_scenario, seed=3)
    assert d.groups_planted == 2
    assert d.groups_detected == 1
    assert [(g.group, g.members, g.detected) for g in d.groups] == [
        ("event-group#1", 2, True),
        ("event-group#2", 2, False),
    ]


def test_planted_case_outcomes(small_scenario: Scenario) -> None:
    d = compute_debrief(_results(), small_scenario, seed=3)
    cases = {c.case: c for c in d.planted_cases}
    assert list(cases) == [c.case for c in small_scenario.cases], "scenario order"
    assert (cases["recruit"].caught, cases["recruit"].missed) == (1, 1)
    assert cases["recruit"].outcome == "partly_caught"
    assert dict(cases["recruit"].expected_indicators) == {"DESTINATION_WATCHLIST": 2}
    assert cases["retry"].outcome == "caught"
    assert dict(cases["retry"].expected_indicators) == {"PRIOR_POSTPONEMENT": 1}
    assert cases["event-group"].outcome == "partly_caught"
    assert cases["minor"].outcome == "not_evaluable"
    assert "no traveller" in cases["minor"].reason


def test_unevaluable_case_stays_out_of_the_confusion(small_scenario: Scenario) -> None:
    reason = "the server does not implement RecordDecision"
    d = compute_debrief(_results(), small_scenario, seed=3, not_evaluable={"retry": reason})
    c = d.confusion
    assert (c.tp, c.fp, c.fn, c.tn) == (2, 1, 4, 3)
    retry = next(x for x in d.planted_cases if x.case == "retry")
    assert (retry.outcome, retry.reason) == ("not_evaluable", reason)
    assert d.to_json()["planted_cases"]["retry"]["outcome"] == "not_evaluable"  # type: ignore[index]


def test_missed_travellers_carry_their_reason(small_scenario: Scenario) -> None:
    d = compute_debrief(_results(), small_scenario, seed=3)
    assert [m.index for m in d.missed] == [4, 5, 7, 8]
    first = d.missed[0]
    assert first.reason == (
        "score 25, band LOW; fired: DESTINATION_WATCHLIST (+20), TOURIST_ENTRY_TO_WATCHLIST (+5)"
    )
    assert [f.index for f in d.false_alarms] == [2]


def test_indicator_hits_and_bands(small_scenario: Scenario) -> None:
    d = compute_debrief(_results(), small_scenario, seed=3)
    hits = dict(d.indicator_hits)
    assert hits["DESTINATION_WATCHLIST"] == 10
    assert hits["LICENSED_TOUR_GROUP"] == 1
    assert d.mitigating == ("LICENSED_TOUR_GROUP",)
    assert dict(d.bands) == {"RISK_BAND_LOW": 7, "RISK_BAND_ELEVATED": 3, "RISK_BAND_HIGH": 2}


def test_json_has_the_contracted_keys(small_scenario: Scenario) -> None:
    data = compute_debrief(_results(), small_scenario, seed=3).to_json()
    for key in (
        "travellers",
        "planted_at_risk",
        "confusion",
        "precision",
        "recall",
        "groups_planted",
        "groups_detected",
        "indicator_hits",
        "planted_cases",
        "latency_ms",
    ):
        assert key in data
    confusion, latency = data["confusion"], data["latency_ms"]
    assert isinstance(confusion, dict) and isinstance(latency, dict)
    assert set(confusion) == {"tp", "fp", "fn", "tn"}
    assert set(latency) >= {"p50", "p95", "p99"}
    json.dumps(data)


def test_no_at_risk_traveller_means_no_recall(small_scenario: Scenario) -> None:
    d = compute_debrief([_result(0, GENUINE, "LOW")], small_scenario, seed=1)
    assert d.confusion.recall is None and d.confusion.precision is None
    assert d.to_json()["recall"] is None


def test_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile([], 50) == 0.0
    assert percentile([7.0], 99) == 7.0
    summary = latency_summary([3.0, 1.0, 2.0])
    assert (summary.p50, summary.max, summary.samples) == (2.0, 3.0, 3)


def _strip_latency(html: str) -> str:
    return re.sub(r'<section id="latency">.*?</section>', "", html, flags=re.S)


def test_report_is_identical_apart_from_latency(small_scenario: Scenario, tmp_path: Path) -> None:
    fast = _results()
    slow = [ItemResult(**{**r.__dict__, "latency_ms": (r.latency_ms or 0) * 10 + 3}) for r in fast]
    a = write_report(compute_debrief(fast, small_scenario, seed=3), tmp_path / "a")
    b = write_report(compute_debrief(slow, small_scenario, seed=3), tmp_path / "b")
    ja, jb = json.loads(a.json.read_text()), json.loads(b.json.read_text())
    assert ja.pop("latency_ms") != jb.pop("latency_ms")
    assert ja == jb
    ha, hb = a.html.read_text(), b.html.read_text()
    assert ha != hb
    assert _strip_latency(ha) == _strip_latency(hb)
    for pa, pb_ in zip(a.plots, b.plots, strict=True):
        assert pa.read_bytes() == pb_.read_bytes()
        assert pa.read_bytes().startswith(b"\x89PNG")
        assert b"matplotlib" not in pa.read_bytes(), "no software metadata in the PNG"


def test_report_files_and_content(small_scenario: Scenario, tmp_path: Path) -> None:
    files = write_report(compute_debrief(_results(), small_scenario, seed=3), tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["confusion.png", "indicators.png", "report.html", "report.json", "scores.png"]
    text = files.json.read_text()
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2) + "\n"
    html = files.html.read_text()
    for png in ("confusion.png", "scores.png", "indicators.png"):
        assert f'src="{png}"' in html
    assert "Missed at-risk travellers" in html
    assert "DESTINATION_WATCHLIST</code> (+20)" in html
    assert "*******123" in html and "T0" not in html
