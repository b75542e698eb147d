"""Run a ruleset's conditions on durable-rules and return the codes that fired.

Each evaluation asserts its facts in a session of its own (``sid``) and deletes
that session afterwards, so engine state never piles up and concurrent
evaluations never see each other's facts.

durable-rules registers a ruleset name once per process, so compiled rulesets are
kept in a process-wide registry keyed by the ruleset version (name + content hash):
loading the same version twice reuses it, a changed file gets a new name.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

from durable.engine import Host

from departure_screening.ruleset import Ruleset

_lock = threading.Lock()
_host: Host | None = None
_registered: set[str] = set()
# Codes fired per live session; sessions are unique, so no lock is needed per entry.
_fired: dict[str, list[str]] = {}
_session_ids = itertools.count()


# A rule that matches every screening fact. Without it, a fact that fires nothing
# leaves no session behind, and durable-rules 2.0.28 crashes deleting that session.
# It matches on a marker only facts carry: session state also has a sid, and a rule
# matching the state would fire again on every state update.
EVERY_FACT_RULE = "__every_fact__"
FACT_MARKER = "screening_fact"


def compile_definition(
    ruleset: Ruleset, action_for: Callable[[str], Any]
) -> dict[str, dict[str, Any]]:
    """One durable-rules rule per indicator: ``{code: {"all": [{"m": when}], "run": action}}``."""
    rules = {
        ind.code: {"all": [{"m": dict(ind.when)}], "run": action_for(ind.code)}
        for ind in ruleset.indicators
    }
    rules[EVERY_FACT_RULE] = {"all": [{"m": {"$ex": {FACT_MARKER: 1}}}], "run": _ignore}
    return rules


def _ignore(c: Any) -> None:
    return None


def engine_name(ruleset: Ruleset) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{ruleset.name}_{ruleset.content_hash[:16]}")


def _collector(code: str) -> Callable[[Any], None]:
    def fire(c: Any) -> None:
        _fired[c.m.sid].append(code)

    return fire


def _get_host() -> Host:
    global _host
    if _host is None:
        _host = Host()
    return _host


class RuleEngine:
    """Evaluates facts against one compiled ruleset. Safe to share between threads."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self.name = engine_name(ruleset)
        with _lock:
            host = _get_host()
            if self.name not in _registered:
                host.register_rulesets({self.name: compile_definition(ruleset, _collector)})
                _registered.add(self.name)
            self._host = host

    def evaluate(self, facts: Mapping[str, Any]) -> list[str]:
        """Indicator codes whose conditions hold for ``facts``, in no particular order."""
        sid = f"s{next(_session_ids)}"
        _fired[sid] = []
        try:
            self._host.assert_fact(self.name, {**facts, "sid": sid, FACT_MARKER: 1})
            return _fired[sid]
        finally:
            self._host.delete_state(self.name, sid)
            _fired.pop(sid, None)
