"""The debrief of an exercise: what was planted, what the service caught, what it missed.

Pure computation over the run's results; no I/O. A traveller counts as flagged
(positive) when the band is ELEVATED or HIGH. Travellers of a planted case that
cannot be judged (its scripted decision could not be recorded) and screenings the
service rejected stay out of the confusion matrix and are reported separately.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from departure_screening.exercise.results import ItemResult
from departure_screening.exercise.scenario import IntendedRates, Scenario

GROUP_INDICATOR = "GROUP_WITH_RECRUITER"
BANDS = ("RISK_BAND_LOW", "RISK_BAND_ELEVATED", "RISK_BAND_HIGH")


@dataclass(frozen=True)
class Confusion:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float | None:
        flagged = self.tp + self.fp
        return self.tp / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        at_risk = self.tp + self.fn
        return self.tp / at_risk if at_risk else None

    @property
    def false_alarm_rate(self) -> float | None:
        """Genuine travellers flagged, over all genuine travellers."""
        genuine = self.fp + self.tn
        return self.fp / genuine if genuine else None

    @property
    def miss_rate(self) -> float | None:
        """At-risk travellers left in band LOW, over all at-risk travellers."""
        at_risk = self.tp + self.fn
        return self.fn / at_risk if at_risk else None


@dataclass(frozen=True)
class TravellerLine:
    """One traveller in a list of the debrief (missed, false alarms): what the service saw."""

    index: int
    request_id: str
    passport: str
    case: str
    step: str
    score: int
    band: str
    indicators: tuple[tuple[str, int], ...]

    @property
    def band_label(self) -> str:
        return self.band.removeprefix("RISK_BAND_")

    @property
    def reason(self) -> str:
        fired = ", ".join(f"{code} ({weight:+d})" for code, weight in self.indicators)
        return f"score {self.score}, band {self.band_label}; fired: {fired or 'no indicator'}"

    def to_json(self) -> dict[str, object]:
        return {
            "index": self.index,
            "request_id": self.request_id,
            "passport": self.passport,
            "case": self.case,
            "step": self.step,
            "score": self.score,
            "band": self.band,
            "indicators": [{"code": c, "weight": w} for c, w in self.indicators],
            "reason": self.reason,
        }


@dataclass(frozen=True)
class CaseOutcome:
    case: str
    kind: str
    description: str
    travellers: int
    caught: int
    missed: int
    rejected: int
    outcome: str  # caught | partly_caught | missed | not_evaluable
    expected_indicators: tuple[tuple[str, int], ...]
    reason: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "description": self.description,
            "travellers": self.travellers,
            "caught": self.caught,
            "missed": self.missed,
            "rejected": self.rejected,
            "outcome": self.outcome,
            "expected_indicators": dict(self.expected_indicators),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class GroupOutcome:
    group: str
    case: str
    members: int
    members_with_indicator: int

    @property
    def detected(self) -> bool:
        return self.members_with_indicator > 0

    def to_json(self) -> dict[str, object]:
        return {
            "group": self.group,
            "case": self.case,
            "members": self.members,
            "members_with_indicator": self.members_with_indicator,
            "detected": self.detected,
        }


@dataclass(frozen=True)
class Latency:
    samples: int
    p50: float
    p95: float
    p99: float
    max: float

    def to_json(self) -> dict[str, object]:
        return {
            "samples": self.samples,
            "p50": self.p50,
            "p95": self.p95,
            "p99": self.p99,
            "max": self.max,
        }


@dataclass(frozen=True)
class Debrief:
    scenario: str
    description: str
    seed: int
    ruleset_version: str
    travellers: int
    evaluated: int
    planted_at_risk: int
    confusion: Confusion
    bands: tuple[tuple[str, int], ...]
    indicator_hits: tuple[tuple[str, int], ...]
    # Codes seen with a negative weight (mitigating), to tell them apart in the plots.
    mitigating: tuple[str, ...]
    planted_cases: tuple[CaseOutcome, ...]
    groups: tuple[GroupOutcome, ...]
    missed: tuple[TravellerLine, ...]
    false_alarms: tuple[TravellerLine, ...]
    rejected: tuple[tuple[int, str, str], ...]  # index, request id, error
    # (score, at_risk) of every evaluated traveller, for the score plot.
    scores: tuple[tuple[int, bool], ...]
    latency: Latency
    intended: IntendedRates | None = None

    def within_intended(self) -> bool | None:
        """Whether both rates fall in the scenario's intended ranges; None if it states none."""
        c, intended = self.confusion, self.intended
        if intended is None or c.false_alarm_rate is None or c.miss_rate is None:
            return None
        return intended.false_alarm.holds(c.false_alarm_rate) and intended.miss.holds(c.miss_rate)

    def _intended_json(self) -> dict[str, object] | None:
        if self.intended is None:
            return None
        return {
            "false_alarm_rate": [self.intended.false_alarm.low, self.intended.false_alarm.high],
            "miss_rate": [self.intended.miss.low, self.intended.miss.high],
            "within": self.within_intended(),
        }

    @property
    def groups_planted(self) -> int:
        return len(self.groups)

    @property
    def groups_detected(self) -> int:
        return sum(1 for g in self.groups if g.detected)

    def to_json(self) -> dict[str, object]:
        """The report.json content; everything but ``latency_ms`` is fixed by the seed."""
        c = self.confusion
        return {
            "scenario": {"name": self.scenario, "description": self.description},
            "seed": self.seed,
            "ruleset_version": self.ruleset_version,
            "travellers": self.travellers,
            "evaluated": self.evaluated,
            "planted_at_risk": self.planted_at_risk,
            "confusion": {"tp": c.tp, "fp": c.fp, "fn": c.fn, "tn": c.tn},
            "precision": _round(c.precision),
            "recall": _round(c.recall),
            "false_alarm_rate": _round(c.false_alarm_rate),
            "miss_rate": _round(c.miss_rate),
            "intended": self._intended_json(),
            "bands": dict(self.bands),
            "groups_planted": self.groups_planted,
            "groups_detected": self.groups_detected,
            "groups": [g.to_json() for g in self.groups],
            "indicator_hits": dict(self.indicator_hits),
            "planted_cases": {c.case: c.to_json() for c in self.planted_cases},
            "missed": [t.to_json() for t in self.missed],
            "false_alarms": [t.to_json() for t in self.false_alarms],
            "rejected": [{"index": i, "request_id": r, "error": e} for i, r, e in self.rejected],
            "latency_ms": self.latency.to_json(),
        }


def compute_debrief(
    results: Sequence[ItemResult],
    scenario: Scenario,
    *,
    seed: int,
    not_evaluable: Mapping[str, str] | None = None,
    ruleset_version: str = "",
) -> Debrief:
    not_evaluable = dict(not_evaluable or {})
    confusion = Counter[str]()
    bands = Counter[str]()
    hits = Counter[str]()
    mitigating: set[str] = set()
    missed: list[TravellerLine] = []
    false_alarms: list[TravellerLine] = []
    rejected: list[tuple[int, str, str]] = []
    scores: list[tuple[int, bool]] = []
    for r in results:
        if r.observed is None:
            rejected.append((r.index, r.request_id, r.error))
            continue
        hits.update(i.code for i in r.observed.indicators)
        mitigating.update(i.code for i in r.observed.indicators if i.weight < 0)
        bands[r.observed.band] += 1
        if r.truth.case in not_evaluable:
            continue
        scores.append((r.observed.score, r.truth.at_risk))
        flagged = r.observed.flagged
        if r.truth.at_risk:
            confusion["tp" if flagged else "fn"] += 1
            if not flagged:
                missed.append(_line(r))
        else:
            confusion["fp" if flagged else "tn"] += 1
            if flagged:
                false_alarms.append(_line(r))

    return Debrief(
        scenario=scenario.name,
        description=scenario.description,
        seed=seed,
        ruleset_version=ruleset_version,
        travellers=len(results),
        evaluated=len(scores),
        planted_at_risk=sum(1 for r in results if r.truth.at_risk),
        confusion=Confusion(
            tp=confusion["tp"], fp=confusion["fp"], fn=confusion["fn"], tn=confusion["tn"]
        ),
        bands=tuple((band, bands[band]) for band in BANDS),
        indicator_hits=tuple(sorted(hits.items())),
        mitigating=tuple(sorted(mitigating)),
        planted_cases=tuple(_case_outcomes(results, scenario, not_evaluable)),
        groups=tuple(_group_outcomes(results)),
        missed=tuple(missed),
        false_alarms=tuple(false_alarms),
        rejected=tuple(rejected),
        scores=tuple(scores),
        latency=latency_summary([r.latency_ms for r in results if r.latency_ms is not None]),
        intended=scenario.intended,
    )


def _line(r: ItemResult) -> TravellerLine:
    assert r.observed is not None
    return TravellerLine(
        index=r.index,
        request_id=r.request_id,
        passport=r.passport,
        case=r.truth.case,
        step=r.truth.step,
        score=r.observed.score,
        band=r.observed.band,
        indicators=tuple((i.code, i.weight) for i in r.observed.indicators),
    )


def _case_outcomes(
    results: Sequence[ItemResult], scenario: Scenario, not_evaluable: Mapping[str, str]
) -> list[CaseOutcome]:
    outcomes: list[CaseOutcome] = []
    for case in scenario.cases:
        members = [r for r in results if r.truth.planted and r.truth.case == case.case]
        answered = [r.observed for r in members if r.observed is not None]
        caught = sum(1 for o in answered if o.flagged)
        expected = tuple((code, sum(1 for o in answered if o.fired(code))) for code in case.expects)
        reason = not_evaluable.get(case.case, "")
        if not members:
            outcome, reason = "not_evaluable", "no traveller of this case was generated"
        elif reason:
            outcome = "not_evaluable"
        elif not answered:
            outcome, reason = "not_evaluable", "the service rejected every screening of this case"
        elif caught == len(answered):
            outcome = "caught"
        elif caught == 0:
            outcome = "missed"
        else:
            outcome = "partly_caught"
        outcomes.append(
            CaseOutcome(
                case=case.case,
                kind=case.kind,
                description=case.description,
                travellers=len(members),
                caught=caught,
                missed=len(answered) - caught,
                rejected=len(members) - len(answered),
                outcome=outcome,
                expected_indicators=expected,
                reason=reason,
            )
        )
    return outcomes


def _group_outcomes(results: Sequence[ItemResult]) -> list[GroupOutcome]:
    members: dict[str, list[ItemResult]] = {}
    for r in results:
        if r.truth.group:
            members.setdefault(r.truth.group, []).append(r)
    return [
        GroupOutcome(
            group=group,
            case=rs[0].truth.case,
            members=len(rs),
            members_with_indicator=sum(
                1 for r in rs if r.observed is not None and r.observed.fired(GROUP_INDICATOR)
            ),
        )
        for group, rs in sorted(members.items(), key=lambda kv: _group_sort_key(kv[0]))
    ]


def _group_sort_key(group: str) -> tuple[str, int]:
    # "festival-event-group#10" after "#9".
    name, _, number = group.rpartition("#")
    return (name, int(number)) if number.isdigit() else (group, 0)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(values: Sequence[float]) -> Latency:
    return Latency(
        samples=len(values),
        p50=round(percentile(values, 50), 3),
        p95=round(percentile(values, 95), 3),
        p99=round(percentile(values, 99), 3),
        max=round(max(values), 3) if values else 0.0,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
