"""The durable-rules adapter: sessions are deleted, threads don't mix, versions coexist."""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from departure_screening.screening.context import HistoryContext
from departure_screening.screening.engine import (
    EVERY_FACT_RULE,
    FACT_MARKER,
    RuleEngine,
    compile_definition,
)
from departure_screening.screening.evaluation import evaluate
from departure_screening.screening.facts import derive_facts
from departure_screening.screening.rule_tests import screening_from_dict
from departure_screening.screening.ruleset import Ruleset, default_rules_dir, load_ruleset

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
    # The engine no longer knows the last session: its facts were deleted with it.
    with pytest.raises(Exception, match="error code: 309"):
        eng.session_facts(eng.last_session_id())


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


def test_the_adapter_fires_exactly_what_durable_rules_own_host_fires(ruleset: Ruleset) -> None:
    from durable.engine import Host, MessageNotHandledException

    fired: dict[str, list[str]] = {}

    def collector(code: str):  # type: ignore[no-untyped-def]
        return lambda c: fired[c.m.sid].append(code)

    host = Host()
    name = "reference_host_" + ruleset.content_hash[:8]
    host.register_rulesets({name: compile_definition(ruleset, collector)})
    eng = RuleEngine(ruleset)
    rnd = random.Random(7)
    for n in range(300):
        data = {
            "traveller": {
                "birth_date": f"{rnd.randint(1990, 2012)}-03-0{rnd.randint(1, 9)}",
                "passport_issue_date": rnd.choice(["2026-02-20", "2020-01-01"]),
            },
            "trip": {
                "flight_number": "GA1",
                "departure_date": "2026-03-01",
                "destination_country": rnd.choice(["KH", "SG", "LA", "MY"]),
                "has_return_ticket": rnd.random() < 0.5,
                "tour_operator_license": rnd.choice(["", "L1"]),
            },
            "declaration": {
                "purpose": rnd.choice(["PURPOSE_TOURISM", "PURPOSE_WORK"]),
                "visa_type": rnd.choice(["VISA_TYPE_VISA_EXEMPT", "VISA_TYPE_WORK"]),
                "disnaker_recommendation_number": rnd.choice(["", "D1"]),
            },
            "observations": rnd.sample(
                ["OBSERVATION_CARRIES_JOB_OFFER", "OBSERVATION_ACCOMPANIED_BY_RECRUITER"],
                rnd.randint(0, 2),
            ),
        }
        history = HistoryContext(
            group_members=rnd.randint(0, 4), prior_postponements=rnd.randint(0, 1)
        )
        facts = derive_facts(screening_from_dict(data), ruleset.lists, history)
        sid = f"ref{n}"
        fired[sid] = []
        with contextlib.suppress(MessageNotHandledException):
            host.assert_fact(name, {**facts, "sid": sid, FACT_MARKER: 1})
        host.delete_state(name, sid)
        reference = sorted(c for c in fired.pop(sid) if c != EVERY_FACT_RULE)
        assert sorted(eng.evaluate(facts)) == reference


def test_a_fresh_process_survives_a_screening_on_which_nothing_fires() -> None:
    # durable-rules 2.0.28 crashed deleting a session in which no rule had matched.
    code = (
        "from departure_screening.screening.ruleset import load_ruleset, default_rules_dir\n"
        "from departure_screening.screening.engine import RuleEngine\n"
        "from departure_screening.screening.evaluation import evaluate\n"
        "from departure_screening.screening.context import HistoryContext\n"
        "from departure_screening.screening.rule_tests import screening_from_dict\n"
        "import json, sys\n"
        "e = RuleEngine(load_ruleset(default_rules_dir()))\n"
        "s = screening_from_dict(json.loads(sys.argv[1]))\n"
        "print([evaluate(e, s, HistoryContext()).score for _ in range(3)])\n"
    )
    neutral = {**BASE, "trip": {**BASE["trip"], "destination_country": "SG"}}
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(neutral)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[0, 0, 0]"


def test_memory_stays_flat_over_many_evaluations(ruleset: Ruleset) -> None:
    eng = RuleEngine(ruleset)
    facts = derive_facts(screening_from_dict(BASE), ruleset.lists, HistoryContext())

    def rss_kb() -> int:
        status = Path("/proc/self/status").read_text()
        return int(status.split("VmRSS:")[1].split()[0])

    for _ in range(5_000):  # warm-up
        eng.evaluate(facts)
    before = rss_kb()
    for _ in range(50_000):
        eng.evaluate(facts)
    assert rss_kb() - before < 5 * 1024
