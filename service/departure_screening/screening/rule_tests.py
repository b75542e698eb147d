"""Table-driven tests kept next to a ruleset, like ``opa test``.

Each ``tests/*.yaml`` file under a ruleset directory holds ``defaults`` (a
screening, as nested fields) and ``cases``: each case overrides some fields,
gives the history counts (``context``) and expects indicator codes, a score and
a band. ``depscreen rules test DIR`` runs them and prints a diff for each failure.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from departure_screening import domain
from departure_screening.screening.context import HistoryContext
from departure_screening.screening.engine import RuleEngine
from departure_screening.screening.evaluation import evaluate
from departure_screening.screening.ruleset import Ruleset

TESTS_DIR = "tests"
CONTEXT_KEYS = {"group_members", "escort_watchlist_trips", "prior_postponements"}
EXPECT_KEYS = {"codes", "score", "band", "action"}


@dataclass
class CaseResult:
    file: str
    name: str
    differences: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.differences


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def screening_from_dict(data: Mapping[str, Any]) -> domain.Screening:
    """Build a screening from nested plain fields (dates as YYYY-MM-DD)."""
    t, trip, d = data["traveller"], data["trip"], data["declaration"]
    return domain.Screening(
        request_id=str(data.get("request_id", "rule-test")),
        checkpoint=str(data.get("checkpoint", "CGK")),
        mode=str(data.get("mode", domain.MODE_LIVE)),
        officer_id=str(data.get("officer_id", "")),
        traveller=domain.Traveller(
            passport_number=str(t.get("passport_number", "X0000000")),
            nationality=str(t.get("nationality", "ID")),
            birth_date=_date(t["birth_date"]),
            passport_issue_date=_date(t["passport_issue_date"]),
        ),
        trip=domain.Trip(
            flight_number=str(trip["flight_number"]),
            departure_date=_date(trip["departure_date"]),
            destination_country=str(trip["destination_country"]),
            transit_countries=tuple(trip.get("transit_countries", ())),
            has_return_ticket=bool(trip.get("has_return_ticket", False)),
            booking_reference=str(trip.get("booking_reference", "")),
            escort_passport_number=str(trip.get("escort_passport_number", "")),
            tour_operator_license=str(trip.get("tour_operator_license", "")),
        ),
        declaration=domain.Declaration(
            purpose=str(d["purpose"]),
            visa_type=str(d["visa_type"]),
            disnaker_recommendation_number=str(d.get("disnaker_recommendation_number", "")),
            bp2mi_registration_number=str(d.get("bp2mi_registration_number", "")),
        ),
        observations=tuple(data.get("observations", ())),
    )


def run_case(
    engine: RuleEngine, file: str, defaults: Mapping[str, Any], case: Mapping[str, Any]
) -> CaseResult:
    name = str(case.get("name", "<unnamed>"))
    result = CaseResult(file, name)
    unknown = set(case) - {"name", "screening", "context", "expect"}
    if unknown:
        result.differences.append(f"unknown keys in case: {sorted(unknown)}")
        return result
    context = case.get("context", {}) or {}
    expect = case.get("expect", {}) or {}
    bad = (set(context) - CONTEXT_KEYS) | (set(expect) - EXPECT_KEYS)
    if bad or not expect:
        result.differences.append(
            f"case needs 'expect' ({sorted(EXPECT_KEYS)}) and context keys from "
            f"{sorted(CONTEXT_KEYS)}; unknown: {sorted(bad)}"
        )
        return result
    try:
        screening = screening_from_dict(deep_merge(defaults, case.get("screening", {}) or {}))
    except (KeyError, ValueError, TypeError) as exc:
        result.differences.append(f"cannot build the screening: {exc!r}")
        return result
    scored = evaluate(engine, screening, HistoryContext(**context))
    got_codes = sorted(f.code for f in scored.indicators)
    if "codes" in expect:
        want = sorted(expect["codes"])
        if want != got_codes:
            missing = sorted(set(want) - set(got_codes))
            extra = sorted(set(got_codes) - set(want))
            result.differences.append(
                f"codes: expected {want}, got {got_codes}"
                + (f"; missing {missing}" if missing else "")
                + (f"; unexpected {extra}" if extra else "")
            )
    for key, got in (
        ("score", scored.score),
        ("band", scored.band),
        ("action", scored.recommended_action),
    ):
        if key in expect and expect[key] != got:
            result.differences.append(f"{key}: expected {expect[key]!r}, got {got!r}")
    if result.differences:
        weights = ", ".join(f"{f.code}={f.weight:+d}" for f in scored.indicators) or "none"
        result.differences.append(f"fired with weights: {weights}")
    return result


def check_score_band(ruleset: Ruleset, file: str, row: Mapping[str, Any]) -> CaseResult:
    """A row of ``score_bands``: the band table itself at a given score."""
    result = CaseResult(file, f"score {row.get('score')} is {row.get('band')}")
    band = ruleset.band_for(int(row["score"]))
    for key, got in (("band", band.band), ("action", band.action)):
        if key in row and row[key] != got:
            result.differences.append(f"{key}: expected {row[key]!r}, got {got!r}")
    return result


def run_rule_tests(ruleset: Ruleset, directory: Path) -> list[CaseResult]:
    engine = RuleEngine(ruleset)
    try:
        return _run_rule_tests(ruleset, directory, engine)
    finally:
        engine.close()  # a reload runs the tests of every candidate: keep none of them


def _run_rule_tests(ruleset: Ruleset, directory: Path, engine: RuleEngine) -> list[CaseResult]:
    results: list[CaseResult] = []
    files = sorted((directory / TESTS_DIR).glob("*.yaml"))
    if not files:
        return [CaseResult(str(directory / TESTS_DIR), "(none)", ["no test files found"])]
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        cases = data.get("cases") or []
        bands = data.get("score_bands") or []
        if not cases and not bands:
            results.append(CaseResult(path.name, "(file)", ["no cases in file"]))
        for row in bands:
            results.append(check_score_band(ruleset, path.name, row))
        for case in cases:
            results.append(run_case(engine, path.name, data.get("defaults", {}), case))
    return results
