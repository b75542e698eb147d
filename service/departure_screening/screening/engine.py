"""Run a ruleset's conditions on durable-rules and return the codes that fired.

Each evaluation asserts its facts in a session of its own (``sid``) and deletes
that session afterwards, so engine state never piles up and concurrent
evaluations never see each other's facts.

The adapter drives durable-rules' compiled engine (``durable_rules_engine``, the
core under ``durable.engine.Host``) directly: the actions only record which rule
fired, so the host's per-action machinery (closures, a JSON round trip of the
session state per action) would cost five times the evaluation itself.

durable-rules registers a ruleset name once per process, so compiled rulesets are
kept in a process-wide registry keyed by the ruleset version (name + content hash):
loading the same version twice reuses it, a changed file gets a new name. Engines
count their users there, and the last ``close`` deletes the compiled ruleset, so
a server that reloads its rules many times keeps only the versions in use.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

import durable_rules_engine as core
import orjson

from departure_screening.screening.ruleset import Ruleset

# A rule that matches every screening fact. Without it, a fact that fires nothing
# leaves its session behind (state piles up until the engine runs out of room), and
# durable-rules 2.0.28 crashes deleting such a session. It matches on a marker only
# facts carry: session state also has a sid, and must not match.
EVERY_FACT_RULE = "__every_fact__"
FACT_MARKER = "screening_fact"
# durable-rules' assert result: 0 = actions are ready for the session.
_ACTIONS_READY = 0

_lock = threading.Lock()
_handles: dict[str, int] = {}
_users: dict[str, int] = {}
_session_ids = itertools.count()


def compile_definition(
    ruleset: Ruleset, action_for: Callable[[str], Any] | None = None
) -> dict[str, dict[str, Any]]:
    """One durable-rules rule per indicator: ``{code: {"all": [{"m": when}]}}``.

    With ``action_for``, each rule also gets a ``run`` entry (as the Python host
    wants it), e.g. to print the definition for inspection.
    """
    rules: dict[str, dict[str, Any]] = {
        ind.code: {"all": [{"m": dict(ind.when)}]} for ind in ruleset.indicators
    }
    rules[EVERY_FACT_RULE] = {"all": [{"m": {"$ex": {FACT_MARKER: 1}}}]}
    if action_for is not None:
        for code, rule in rules.items():
            rule["run"] = action_for(code)
    return rules


def engine_name(ruleset: Ruleset) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{ruleset.name}_{ruleset.content_hash[:16]}")


def _rule_name(message: str) -> str:
    """The rule an action belongs to: the first key of ``{"RULE": {...}}``."""
    return message[2 : message.index('"', 2)]


class RuleEngine:
    """Evaluates facts against one compiled ruleset. Safe to share between threads."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self.name = engine_name(ruleset)
        with _lock:
            if self.name not in _handles:
                _handles[self.name] = core.create_ruleset(
                    self.name, json.dumps(compile_definition(ruleset), ensure_ascii=False)
                )
                _users[self.name] = 0
            _users[self.name] += 1
            self._handle = _handles[self.name]
        self._closed = False

    def close(self) -> None:
        """No more evaluations on this engine; the last user of a version deletes it."""
        with _lock:
            if self._closed:
                return
            self._closed = True
            _users[self.name] -= 1
            if _users[self.name] == 0:
                del _users[self.name], _handles[self.name]
                core.delete_ruleset(self._handle)

    def evaluate(self, facts: Mapping[str, Any]) -> list[str]:
        """Indicator codes whose conditions hold for ``facts``, in no particular order."""
        sid = f"s{next(_session_ids)}"
        fact = orjson.dumps({**facts, "sid": sid, FACT_MARKER: 1}).decode()
        fired: list[str] = []
        try:
            result = core.assert_fact(self._handle, fact)
            if result[0] == _ACTIONS_READY:
                state = result[1]
                action = core.start_action_for_state(self._handle, state)
                message = action[1] if action else None
                while message:
                    fired.append(_rule_name(message))
                    message = core.complete_and_start_action(self._handle, state)
        finally:
            core.delete_state(self._handle, sid)
        return [code for code in fired if code != EVERY_FACT_RULE]

    def session_facts(self, sid: str) -> Any:
        """The facts the engine holds for a session (for tests of session clean-up)."""
        return json.loads(core.get_facts(self._handle, sid))

    @staticmethod
    def compiled_versions() -> set[str]:
        """Engine names whose compiled ruleset is held in this process."""
        with _lock:
            return set(_handles)

    @staticmethod
    def last_session_id() -> str:
        return f"s{next(_session_ids) - 1}"
