"""The ruleset a process serves, swapped atomically on reload.

Each screening takes the current policy once and uses it throughout, so it is
evaluated, scored and recorded by exactly one version however a reload falls.
A policy replaced by a reload is retired when its last screening releases it:
its compiled rules are deleted then, never under a running evaluation.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from departure_screening.screening.engine import RuleEngine
from departure_screening.screening.ruleset import Ruleset


@dataclass(eq=False)
class Policy:
    ruleset: Ruleset
    engine: RuleEngine
    watchlist: frozenset[str]
    _users: int = field(default=0, repr=False)
    _retired: bool = field(default=False, repr=False)

    @classmethod
    def of(cls, ruleset: Ruleset) -> Policy:
        return cls(ruleset, RuleEngine(ruleset), frozenset(ruleset.lists.watchlist))


class PolicyHolder:
    def __init__(self, ruleset: Ruleset) -> None:
        self._lock = threading.Lock()
        self._current = Policy.of(ruleset)

    @property
    def current(self) -> Policy:
        return self._current

    def acquire(self) -> Policy:
        with self._lock:
            policy = self._current
            policy._users += 1
            return policy

    def release(self, policy: Policy) -> None:
        with self._lock:
            policy._users -= 1
            done = policy._retired and policy._users == 0
        if done:
            policy.engine.close()

    @contextmanager
    def using(self) -> Iterator[Policy]:
        policy = self.acquire()
        try:
            yield policy
        finally:
            self.release(policy)

    def swap(self, ruleset: Ruleset) -> Policy:
        """Serve ``ruleset`` from now on; the policy it replaces is returned, retired."""
        new = Policy.of(ruleset)  # compiled before the switch: no call waits for it
        with self._lock:
            old, self._current = self._current, new
            old._retired = True
            done = old._users == 0
        if done:
            old.engine.close()
        return old

    def close(self) -> None:
        with self._lock:
            self._current._retired = True
            done = self._current._users == 0
        if done:
            self._current.engine.close()
