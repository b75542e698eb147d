"""Replay stored facts through a candidate ruleset and compare with what was recommended.

The facts an assessment kept are those the rules saw at the time, history counts
included, so the candidate is judged on the same screenings, not on today's data.
What a ruleset's lists make of the facts (watch-list weight, work intent, ...) is
recomputed from the candidate's lists. Assessments kept without facts (written
before they were kept) are counted as skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from departure_screening.domain import ACTION_STRICTNESS, DECISION_STRICTNESS, Assessment
from departure_screening.screening.engine import RuleEngine
from departure_screening.screening.ruleset import Ruleset
from departure_screening.screening.shadow import rescore

BANDS = ("LOW", "ELEVATED", "HIGH")


class Replayed(Protocol):
    """A stored assessment with its last decision (the store's ``ReplayRecord``)."""

    @property
    def assessment(self) -> Assessment: ...

    @property
    def decision(self) -> str | None: ...


def band_name(band: str) -> str:
    return band.removeprefix("RISK_BAND_")


@dataclass
class Backtest:
    candidate: str
    screenings: int = 0
    skipped: int = 0
    changed: int = 0
    transitions: Counter[str] = field(default_factory=Counter)
    recorded_bands: Counter[str] = field(default_factory=Counter)
    candidate_bands: Counter[str] = field(default_factory=Counter)
    recorded_hits: Counter[str] = field(default_factory=Counter)
    candidate_hits: Counter[str] = field(default_factory=Counter)
    codes: set[str] = field(default_factory=set)
    by_checkpoint: dict[str, Counter[str]] = field(default_factory=dict)
    decided: int = 0
    agree_recorded: int = 0
    agree_candidate: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "screenings": self.screenings,
            "skipped": self.skipped,
            "changed": self.changed,
            "transitions": dict(sorted(self.transitions.items())),
            "bands": {
                "recorded": {b: self.recorded_bands[b] for b in BANDS},
                "candidate": {b: self.candidate_bands[b] for b in BANDS},
            },
            "indicators": {
                code: {"recorded": self.recorded_hits[code], "candidate": self.candidate_hits[code]}
                for code in sorted(self.codes)
            },
            "by_checkpoint": {
                cp: {"screenings": c["screenings"], "changed": c["changed"]}
                for cp, c in sorted(self.by_checkpoint.items())
            },
            "officers": {
                "decided": self.decided,
                "agree_recorded": self.agree_recorded,
                "agree_candidate": self.agree_candidate,
            },
        }


def _agrees(decision: str, action: str) -> bool:
    """As ``versus_recommendation == "same"`` in the metrics."""
    return DECISION_STRICTNESS[decision] == ACTION_STRICTNESS[action]


def run_backtest(
    records: Iterable[Replayed],
    candidate: Ruleset,
    tick: Callable[[], None] = lambda: None,
) -> Backtest:
    engine = RuleEngine(candidate)
    report = Backtest(candidate.version, codes={i.code for i in candidate.indicators})
    try:
        for record in records:
            tick()
            _replay(report, engine, candidate, record)
    finally:
        engine.close()
    return report


def _replay(report: Backtest, engine: RuleEngine, candidate: Ruleset, record: Replayed) -> None:
    a = record.assessment
    # A preliminary assessment is a preview the counter screening supersedes: replaying
    # it would count the traveller twice.
    if a.facts is None or a.preliminary:
        report.skipped += 1
        return
    rescored = rescore(engine, candidate, a.facts)
    compare(report, record, rescored.band.band, rescored.band.action, rescored.codes)


def compare(
    report: Backtest, record: Replayed, band: str, action: str, fired: Iterable[str]
) -> None:
    """Count one assessment: what was recorded beside what the candidate says."""
    a = record.assessment
    old, new = band_name(a.band), band_name(band)
    report.screenings += 1
    report.recorded_bands[old] += 1
    report.candidate_bands[new] += 1
    recorded_codes = {f.code for f in a.indicators}
    report.codes |= recorded_codes
    report.recorded_hits.update(recorded_codes)
    report.candidate_hits.update(fired)
    per_checkpoint = report.by_checkpoint.setdefault(a.checkpoint, Counter())
    per_checkpoint["screenings"] += 1
    if old != new:
        report.changed += 1
        report.transitions[f"{old}->{new}"] += 1
        per_checkpoint["changed"] += 1
    if record.decision is not None:
        report.decided += 1
        report.agree_recorded += _agrees(record.decision, a.recommended_action)
        report.agree_candidate += _agrees(record.decision, action)
