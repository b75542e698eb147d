"""A second opinion on a screening: its stored facts scored by another ruleset.

Shadow evaluation and the backtest both judge a candidate on the facts an
assessment kept, the candidate's own lists applied to them, so a shadow result
is exactly what a backtest of that ruleset would say of the same screening.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from departure_screening.domain import Assessment
from departure_screening.screening.engine import RuleEngine
from departure_screening.screening.facts import with_lists
from departure_screening.screening.ruleset import Band, Ruleset
from departure_screening.screening.scoring import clamp, weight_of


@dataclass(frozen=True, slots=True)
class Rescored:
    score: int
    band: Band
    codes: frozenset[str]


def rescore(engine: RuleEngine, candidate: Ruleset, facts: Mapping[str, Any]) -> Rescored:
    """What ``candidate`` (compiled in ``engine``) makes of facts stored with an assessment."""
    facts = with_lists(facts, candidate.lists)
    fired = frozenset(engine.evaluate(facts))
    total = clamp(sum(weight_of(candidate.indicator(code), facts) for code in fired))
    return Rescored(total, candidate.band_for(total), fired)


@dataclass(frozen=True, slots=True)
class ShadowResult:
    """What the shadow ruleset said of one assessment; never shown at a counter."""

    assessment_id: str
    ruleset_version: str
    score: int
    band: str
    recommended_action: str
    codes: tuple[str, ...]  # sorted
    evaluated_at: dt.datetime


def shadow_result(
    engine: RuleEngine, shadow: Ruleset, assessment: Assessment, at: dt.datetime
) -> ShadowResult | None:
    """The shadow's result for ``assessment``; None when it kept no facts to replay."""
    if assessment.facts is None:
        return None
    r = rescore(engine, shadow, assessment.facts)
    return ShadowResult(
        assessment.assessment_id,
        shadow.version,
        r.score,
        r.band.band,
        r.band.action,
        tuple(sorted(r.codes)),
        at,
    )
