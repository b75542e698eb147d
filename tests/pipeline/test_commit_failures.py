"""A gate or a commit that raises fails its own batch only, and health sees it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from departure_screening.access.control import build_access
from departure_screening.api.convert import screening_from_pb
from departure_screening.api.servicer import ScreeningServicer
from departure_screening.errors import StoreUnavailable
from departure_screening.metrics import MetricsObserver, create_metrics
from departure_screening.pipeline.screener import Screener
from departure_screening.privacy.pseudonym import Pseudonymizer
from departure_screening.screening.ruleset import Ruleset
from departure_screening.serving.app import App
from departure_screening.serving.config import ServeConfig
from departure_screening.store.sqlite import SqliteStore
from prometheus_client import CollectorRegistry
from support.builders import screening

PSEUDO = Pseudonymizer(b"commit-failure-tests-key" * 2)
# Long enough for a jammed queue to show, short enough for a failing test to end.
PATIENCE = 20.0


class FaultySqliteStore(SqliteStore):
    """A real SQLite store whose write gate or commit can be made to raise, as a lock
    timeout, a full disk or a lost connection would."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate_fault: BaseException | None = None
        self.commit_fault: BaseException | None = None
        self.gate_entered = threading.Event()

    @contextmanager
    def _gated(self) -> Iterator[None]:
        self.gate_entered.set()
        if self.gate_fault is not None:
            raise self.gate_fault
        with super().write_gate():
            yield

    def write_gate(self):  # type: ignore[no-untyped-def]
        return self._gated()

    @contextmanager
    def screenings(self, keys):  # type: ignore[no-untyped-def]
        with super().screenings(keys) as txs:
            yield txs
            if self.commit_fault is not None:
                raise self.commit_fault


@pytest.fixture
def faulty(tmp_path: Path) -> Iterator[FaultySqliteStore]:
    store = FaultySqliteStore(tmp_path / "depscreen.db")
    yield store
    store.close()


def _in_time(fn, *args):  # type: ignore[no-untyped-def]
    """Run ``fn`` on a thread; fail (instead of hanging) when it does not return."""
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(fn, *args)
        return future.result(timeout=PATIENCE)


def test_a_gate_that_raises_fails_its_batch_and_later_callers_proceed(
    ruleset: Ruleset, faulty: FaultySqliteStore
) -> None:
    screener = Screener(ruleset, faulty, PSEUDO)
    faulty.gate_fault = StoreUnavailable("timed out waiting for a writer")
    with pytest.raises(StoreUnavailable):
        screener.screen(screening_from_pb(screening()))
    assert not screener.commits_ok()
    faulty.gate_fault = None
    outcome = _in_time(screener.screen, screening_from_pb(screening()))
    assert not outcome.replayed
    assert screener.commits_ok()


def test_callers_queued_behind_a_failing_gate_all_end_and_the_next_ones_commit(
    ruleset: Ruleset, faulty: FaultySqliteStore
) -> None:
    screener = Screener(ruleset, faulty, PSEUDO)
    release = threading.Event()

    @contextmanager
    def slow_failing_gate() -> Iterator[None]:
        release.wait(PATIENCE)  # others queue meanwhile
        raise StoreUnavailable("lost connection")
        yield  # pragma: no cover

    faulty._gated = slow_failing_gate  # type: ignore[method-assign]
    items = [screening_from_pb(screening()) for _ in range(6)]
    outcomes: list[object] = []

    def call(item: object) -> None:
        try:
            outcomes.append(screener.screen(item))  # type: ignore[arg-type]
        except StoreUnavailable as error:
            outcomes.append(error)

    threads = [threading.Thread(target=call, args=(s,)) for s in items]
    for t in threads:
        t.start()
    release.set()
    for t in threads:
        t.join(PATIENCE)
    assert not any(t.is_alive() for t in threads), "callers stuck behind a failed gate"
    assert outcomes and all(isinstance(o, StoreUnavailable) for o in outcomes)
    del faulty._gated  # the real gate again
    assert not _in_time(screener.screen, screening_from_pb(screening())).replayed


def test_a_commit_that_raises_fails_its_batch_and_later_callers_proceed(
    ruleset: Ruleset, faulty: FaultySqliteStore
) -> None:
    screener = Screener(ruleset, faulty, PSEUDO)
    faulty.commit_fault = StoreUnavailable("disk full")
    with pytest.raises(StoreUnavailable):
        screener.screen(screening_from_pb(screening()))
    assert not screener.commits_ok()
    faulty.commit_fault = None
    assert not _in_time(screener.screen, screening_from_pb(screening())).replayed


def test_health_reports_a_store_that_reads_but_cannot_commit(
    ruleset: Ruleset, faulty: FaultySqliteStore, tmp_path: Path
) -> None:
    metrics = create_metrics(CollectorRegistry(), process_metrics=False)
    screener = Screener(ruleset, faulty, PSEUDO, MetricsObserver(metrics))
    config = ServeConfig(store=f"sqlite:///{tmp_path / 'depscreen.db'}")
    app = App(
        config,
        ruleset,
        faulty,
        metrics,
        screener,
        ScreeningServicer(screener, ["CGK"], metrics),
        build_access(
            config.access,
            listen=config.listen,
            checkpoints=config.checkpoints,
            find_scope=lambda assessment_id: ("CGK", "MODE_LIVE"),
            metrics=metrics,
        ),
    )
    assert app.store_ok()
    faulty.gate_fault = StoreUnavailable("timed out waiting for a writer")
    with pytest.raises(StoreUnavailable):
        screener.screen(screening_from_pb(screening()))
    faulty.check()  # it can still be read
    assert not app.store_ok()  # and health says it cannot commit
    faulty.gate_fault = None
    assert app.store_ok()  # a probe commit clears it, with no traffic needed
