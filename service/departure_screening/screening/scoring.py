"""Turn fired indicator codes into a scored, banded and explained result."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from departure_screening.domain import ACTION_STRICTNESS, FiredIndicator
from departure_screening.screening.ruleset import Indicator, Ruleset


@dataclass(frozen=True, slots=True)
class Scored:
    score: int
    band: str
    recommended_action: str
    indicators: tuple[FiredIndicator, ...]
    facts: Mapping[str, Any]  # what the rules saw, kept with the assessment for replay
    # Indicators whose inputs the screening lacked, sorted: neither fired nor absent.
    not_evaluated: tuple[str, ...] = ()


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


def not_evaluated(ruleset: Ruleset, missing_inputs: AbstractSet[str]) -> tuple[str, ...]:
    """The codes of the indicators that need an input the screening lacks, sorted."""
    if not missing_inputs:
        return ()
    return tuple(sorted(i.code for i in ruleset.indicators if i.needs & missing_inputs))


def capped(action: str, cap: str | None) -> str:
    """``action``, or ``cap`` when the action is stricter."""
    if cap is not None and ACTION_STRICTNESS[action] > ACTION_STRICTNESS[cap]:
        return cap
    return action


def score(
    ruleset: Ruleset,
    fired_codes: Iterable[str],
    facts: Mapping[str, Any],
    extras: Mapping[str, str],
    missing_inputs: AbstractSet[str] = frozenset(),
    action_cap: str | None = None,
) -> Scored:
    """Sum of weights clamped once to 0-100; indicators by weight descending, then code.

    Only evaluated indicators count: one that needs a missing input is left out of the
    score and band, and named in ``not_evaluated``.
    """
    skipped = not_evaluated(ruleset, missing_inputs)
    codes = set(fired_codes).difference(skipped)
    fired = [explain(ruleset.indicator(code), facts, extras) for code in codes]
    fired.sort(key=lambda f: (-f.weight, f.code))
    total = clamp(sum(f.weight for f in fired))
    band = ruleset.band_for(total)
    action = capped(band.action, action_cap)
    return Scored(total, band.band, action, tuple(fired), facts, skipped)
