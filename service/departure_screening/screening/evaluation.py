"""One screening through the rules: derive facts, run the engine, score and explain.

Pure apart from the engine: the screening pipeline and ``depscreen rules test``
both call it, so what the rule tests check is what the service does.
"""

from __future__ import annotations

from departure_screening.domain import PRELIMINARY_ACTION_CAP, Screening
from departure_screening.screening import facts as facts_mod
from departure_screening.screening.context import HistoryContext
from departure_screening.screening.engine import RuleEngine
from departure_screening.screening.scoring import Scored, score


def evaluate(engine: RuleEngine, screening: Screening, history: HistoryContext) -> Scored:
    ruleset = engine.ruleset
    facts = facts_mod.derive_facts(screening, ruleset.lists, history)
    return score(
        ruleset,
        engine.evaluate(facts),
        facts,
        facts_mod.evidence_extras(screening),
        missing_inputs=screening.missing_inputs(),
        action_cap=PRELIMINARY_ACTION_CAP if screening.preliminary else None,
    )
