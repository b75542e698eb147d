"""Turn fired indicator codes into a scored, banded and explained result."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from departure_screening.domain import FiredIndicator
from departure_screening.screening.ruleset import Indicator, Ruleset


@dataclass(frozen=True, slots=True)
class Scored:
    score: int
    band: str
    recommended_action: str
    indicators: tuple[FiredIndicator, ...]
    facts: Mapping[str, Any]  # what the rules saw, kept with the assessment for replay


def clamp(score: int) -> int:
    return max(0, min(100, score))


def evidence_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def weight_of(indicator: Indicator, facts: Mapping[str, Any]) -> int:
    return int(facts[indicator.weight_from]) if indicator.weight_from else indicator.weight


def explain(
    indicator: Indicator, facts: Mapping[str, Any], extras: Mapping[str, str]
) -> FiredIndicator:
    # Empty values (no transit, no escort) explain nothing: leave them out.
    values = {
        name: extras[name] if name in extras else evidence_text(facts[name])
        for name in indicator.evidence
    }
    evidence = {name: value for name, value in values.items() if value}
    return FiredIndicator(
        code=indicator.code,
        weight=weight_of(indicator, facts),
        title=indicator.title,
        title_id=indicator.title_id,
        legal_basis=indicator.legal_basis,
        evidence=evidence,
        remedy=indicator.remedy,
    )


def score(
    ruleset: Ruleset,
    fired_codes: Iterable[str],
    facts: Mapping[str, Any],
    extras: Mapping[str, str],
) -> Scored:
    """Sum of weights clamped once to 0-100; indicators by weight descending, then code."""
    fired = [explain(ruleset.indicator(code), facts, extras) for code in set(fired_codes)]
    fired.sort(key=lambda f: (-f.weight, f.code))
    total = clamp(sum(f.weight for f in fired))
    band = ruleset.band_for(total)
    return Scored(total, band.band, band.action, tuple(fired), facts)
