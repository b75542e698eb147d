"""The screening pipeline: what is evaluated before the write lock is checked inside it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from departure_screening.api.convert import screening_from_pb
from departure_screening.domain import DecisionRecord
from departure_screening.pipeline.screener import Screener
from departure_screening.privacy.pseudonym import Pseudonymizer
from departure_screening.screening.ruleset import Ruleset
from departure_screening.store.base import Store
from departure_screening.store.factory import open_store
from support.builders import screening


class DecisionAtTheGate:
    """A store that records a decision just before the next batch takes the write
    lock: an officer's decision committed between a screening's preparation and its
    own commit."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.pending: DecisionRecord | None = None

    def write_gate(self) -> AbstractContextManager[None]:
        @contextmanager
        def gate() -> Iterator[None]:
            if self.pending is not None:
                self.inner.record_decision(self.pending)
                self.pending = None
            with self.inner.write_gate():
                yield

        return gate()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_postponement_committed_after_preparation_is_seen(
    kind: str, ruleset: Ruleset, tmp_path: Path
) -> None:
    url = "memory:" if kind == "memory" else f"sqlite:///{tmp_path / 'depscreen.db'}"
    inner = open_store(url)
    store = DecisionAtTheGate(inner)
    screener = Screener(ruleset, cast(Store, store), Pseudonymizer(b"k" * 32))
    try:
        earlier = screener.screen(
            screening_from_pb(
                screening(traveller__passport_number="P7770001", trip__departure_date="2026-01-10")
            )
        )
        store.pending = DecisionRecord(
            earlier.assessment.assessment_id,
            "DECISION_POSTPONED",
            "officer-1",
            "",
            dt.datetime(2026, 1, 10, 9, tzinfo=dt.UTC),
        )
        later = screener.screen(
            screening_from_pb(
                screening(traveller__passport_number="P7770001", trip__departure_date="2026-03-01")
            )
        )
        assert store.pending is None  # the decision went in between
        assert "PRIOR_POSTPONEMENT" in [i.code for i in later.assessment.indicators]
        assert [i.code for i in earlier.assessment.indicators] == []
    finally:
        inner.close()
