"""The durable-rules adapter: sessions are deleted, threads don't mix, versions coexist."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from departure_screening import engine as engine_mod
from departure_screening.context import HistoryContext
from departure_screening.engine import RuleEngine
from departure_screening.evaluation import evaluate
from departure_screening.facts import derive_facts
from departure_screening.rule_tests import screening_from_dict
from departure_screening.ruleset import Ruleset, default_rules_dir, load_ruleset

BASE = {
    "traveller": {"birth_date": "1990-06-15", "passport_issue_date": "2022-01-10"},
    "trip": {
        "flight_number": "GA820",
        "departure_date": "2026-03-01",
        "destination_country": "KH",
        "has_return_ticket": True,
    },
    "declaration": {"purpose": "PURPOSE_TOURISM", "visa_type": "VISA_TYPE_VISA_EXEMPT"},
}


def test_no_engine_state_is_left_behind(ruleset: Ruleset) -> None:
    eng = RuleEngine(ruleset)
    facts = derive_facts(screening_from_dict(BASE), ruleset.lists, HistoryContext())
    for _ in range(50):
        assert sorted(eng.evaluate(facts)) == [
            "DESTINATION_WATCHLIST",
            "TOURIST_ENTRY_TO_WATCHLIST",
        ]
    assert engine_mod._fired == {}
    # The engine no longer knows the last session: its facts were deleted with it.
    last_sid = f"s{next(engine_mod._session_ids) - 1}"
    with pytest.raises(Exception, match="error code: 309"):
        eng._host.get_facts(eng.name, last_sid)


def test_same_version_loads_twice_and_a_new_version_side_by_side(tmp_path: Path) -> None:
    a = RuleEngine(load_ruleset(default_rules_dir()))
    b = RuleEngine(load_ruleset(default_rules_dir()))
    assert a.name == b.name
    changed = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), changed)
    data = yaml.safe_load((changed / "indicators.yaml").read_text())
    data["indicators"][1]["weight"] = 7
    (changed / "indicators.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    c = RuleEngine(load_ruleset(changed))
    assert c.name != a.name
    s = screening_from_dict(BASE)
    assert evaluate(a, s, HistoryContext()).score == 25
    assert evaluate(c, s, HistoryContext()).score == 27


def test_threads_get_their_own_results(ruleset: Ruleset) -> None:
    eng = RuleEngine(ruleset)
    variants = []
    for n in range(40):
        data = {
            **BASE,
            "trip": {
                **BASE["trip"],
                "destination_country": ["KH", "SG", "LA", "JP"][n % 4],
                "has_return_ticket": n % 3 == 0,
            },
        }
        variants.append(screening_from_dict(data))
    history = [HistoryContext(group_members=n % 5, prior_postponements=n % 2) for n in range(40)]
    alone = [evaluate(eng, s, h) for s, h in zip(variants, history, strict=True)]
    with ThreadPoolExecutor(8) as pool:
        for _ in range(25):
            together = list(pool.map(lambda i: evaluate(eng, variants[i], history[i]), range(40)))
            assert together == alone
