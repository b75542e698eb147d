"""The compiled durable-rules core, as the adapter (screening/engine.py) drives it.

The adapter reads the core's results and action messages itself, past the Python
host. Any durable-rules release may change them, so the version is pinned and this
test describes exactly what the adapter relies on: an upgrade fails here, loudly.
"""

from __future__ import annotations

import json
import tomllib
import uuid
from importlib.metadata import version
from pathlib import Path

import durable_rules_engine as core
from departure_screening.screening import engine

ROOT = Path(__file__).resolve().parents[2]
PINNED = "2.0.28"


def test_durable_rules_is_pinned_exactly() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert f"durable-rules=={PINNED}" in project["project"]["dependencies"]
    assert version("durable-rules") == PINNED


def test_the_core_reports_fired_rules_in_the_format_the_adapter_parses() -> None:
    name = f"core_format_{uuid.uuid4().hex}"
    rules = {
        "FIRST_RULE": {"all": [{"m": {"$gte": {"n": 2}}}]},
        "SECOND_RULE": {"all": [{"m": {"kind": "x"}}]},
        "NEVER": {"all": [{"m": {"kind": "y"}}]},
    }
    handle = core.create_ruleset(name, json.dumps(rules))
    result = core.assert_fact(handle, json.dumps({"sid": "s1", "n": 3, "kind": "x"}))
    # A sequence whose first item says actions are ready, the second the session state.
    assert result[0] == engine._ACTIONS_READY
    state = result[1]
    action = core.start_action_for_state(handle, state)
    fired = []
    message = action[1] if action else None
    while message:
        # Each message is JSON text whose first key is the rule's name.
        assert isinstance(message, str) and message.startswith('{"')
        assert next(iter(json.loads(message))) == engine._rule_name(message)
        fired.append(engine._rule_name(message))
        message = core.complete_and_start_action(handle, state)
    assert sorted(fired) == ["FIRST_RULE", "SECOND_RULE"]
    core.delete_state(handle, "s1")
    # A fact that fires nothing: the result says no actions are ready.
    quiet = core.assert_fact(handle, json.dumps({"sid": "s2", "n": 0, "kind": "z"}))
    assert quiet[0] != engine._ACTIONS_READY
