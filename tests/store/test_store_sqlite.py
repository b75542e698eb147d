"""SQLite specifics: several processes on one file (lock file, alerts), checkpoints."""

from __future__ import annotations

import contextlib
import queue
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from departure_screening.domain import GroupAlert
from departure_screening.pipeline.screener import group_alert
from departure_screening.screening.alerts import AlertHub
from departure_screening.store import sqlite as sqlite_store
from departure_screening.store.sqlite import SqliteStore
from support.store_helpers import (
    T0,
    WATCHLIST,
    WINDOWS,
    assessment,
    keys,
    raise_group_alert,
    screen,
)

# Two store instances on one file stand for two processes: each has its own lock-file
# descriptor (flock conflicts between descriptors, not only between processes), its
# own alert poll and its own hub.


Pair = tuple[SqliteStore, SqliteStore, AlertHub, AlertHub]


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    hubs = AlertHub(), AlertHub()
    path = tmp_path / "shared.db"
    with contextlib.ExitStack() as stores:
        first = SqliteStore(path, hubs[0], watch_other_processes=True)
        stores.callback(first.close)
        second = SqliteStore(path, hubs[1], watch_other_processes=True)
        stores.callback(second.close)
        yield first, second, hubs[0], hubs[1]


def _drain(q: queue.SimpleQueue[GroupAlert], wait: float) -> list[GroupAlert]:
    got = []
    try:
        got.append(q.get(timeout=wait))
        while True:
            got.append(q.get(timeout=0.6))  # a few poll intervals: nothing more comes
    except queue.Empty:
        return got


def test_an_alert_reaches_the_other_process_once_and_its_own_once(pair: Pair) -> None:
    _, second, hub1, hub2 = pair
    with hub1.subscribe("CGK", "MODE_LIVE") as q1, hub2.subscribe("CGK", "MODE_LIVE") as q2:
        alert = raise_group_alert(second, "ESC-1")
        assert _drain(q1, 5) == [alert]
        assert _drain(q2, 5) == [alert]


def test_a_rolled_back_alert_id_given_to_another_process_is_delivered(pair: Pair) -> None:
    first, second, hub1, hub2 = pair
    with hub1.subscribe("CGK", "MODE_LIVE") as q1, hub2.subscribe("CGK", "MODE_LIVE") as q2:
        for n in range(2):
            screen(first, keys(f"RB-m{n}", escort="RB"))
        # The first process inserts the third member's alert, then its transaction fails.
        k = keys("RB-m2", escort="RB")
        with (
            pytest.raises(RuntimeError, match="after the alert"),
            first.screening(k) as tx,
        ):
            h = tx.history(WATCHLIST, WINDOWS)
            assert h.group_members == 3
            alert = group_alert(k, h, WINDOWS.group_alert_members, T0)
            assert alert is not None
            tx.save(assessment(k, members=3), alert)
            raise RuntimeError("failed after the alert was inserted")
        # SQLite gives the same alert id to the next insert, made by the other process.
        raised = raise_group_alert(second, "ESC-2")
        assert _drain(q1, 5) == [raised]
        assert _drain(q2, 5) == [raised]


def test_a_writer_queues_behind_the_other_process_then_commits(pair: Pair) -> None:
    first, second, _, _ = pair
    done = threading.Event()

    def other_process_screens() -> None:
        screen(second, keys("W-2", escort="E"))
        done.set()

    k = keys("W-1")
    with first.screening(k) as tx:
        worker = threading.Thread(target=other_process_screens)
        worker.start()
        assert not done.wait(0.5), "the other writer went ahead of an open transaction"
        tx.history(WATCHLIST, WINDOWS)
        tx.save(assessment(k), None)
    worker.join(10)
    assert done.is_set()
    assert first.verify_chain().ok
    assert first.verify_chain().head.seq == 2


def test_the_wal_is_checkpointed_into_the_database_in_the_background(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "depscreen.db")
    try:
        for n in range(200):
            screen(store, keys(f"CP-{n}"))
        # The database file alone (no WAL beside it) holds every screening within a
        # few checkpoint periods.
        deadline = time.monotonic() + 10
        while True:
            copy = tmp_path / f"copy-{time.monotonic_ns()}.db"
            shutil.copy(tmp_path / "depscreen.db", copy)
            count = _assessments_in(copy)
            if count == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert count == 200
    finally:
        store.close()


def _assessments_in(copy: Path) -> int:
    """Assessments in a copy of the database file; 0 for a copy torn by a checkpoint
    writing the file while it was copied (the next copy is taken a moment later)."""
    try:
        with sqlite3.connect(copy) as conn:
            tables = conn.execute("SELECT name FROM sqlite_master").fetchall()
            if ("assessments",) not in tables:
                return 0
            return int(conn.execute("SELECT COUNT(*) FROM assessments").fetchone()[0])
    except sqlite3.DatabaseError:
        return 0


def test_every_write_of_a_store_goes_through_one_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A connection's page cache (up to 32 MiB) is dropped whenever another connection
    # has committed since; writes taking turns on several connections emptied and
    # refilled their caches, and the server's memory grew with the churn.
    opened: list[sqlite3.Connection] = []
    connect = SqliteStore._connect

    def recorded(self: SqliteStore, *, read_only: bool = False) -> sqlite3.Connection:
        conn = connect(self, read_only=read_only)
        opened.append(conn)
        return conn

    monkeypatch.setattr(SqliteStore, "_connect", recorded)
    store = SqliteStore(tmp_path / "depscreen.db")
    try:
        screen(store, keys("ONE-1"))
        with store.snapshot() as db:  # a reader holds a connection meanwhile
            assert db.one("SELECT COUNT(*) FROM assessments") == (1,)
            screen(store, keys("ONE-2"))
        screen(store, keys("ONE-3"))
        assert store.chain_head().seq > 0
        writers = [conn for conn in opened if conn.total_changes > 0]
        assert len(opened) >= 2
        assert len(writers) == 1
    finally:
        store.close()


COMMITS = 600


def test_the_wal_stays_bounded_under_continuous_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "WAL_RESTART_FRAMES", 256)  # 1 MiB of 4 KiB pages
    store = SqliteStore(tmp_path / "depscreen.db")
    wal = tmp_path / "depscreen.db-wal"
    largest = 0
    try:
        # Never a pause between commits: a checkpoint beside the writers never catches up.
        # A count, not a time: 600 commits append tens of MiB of WAL without a restart.
        for n in range(1, COMMITS + 1):
            screen(store, keys(f"WAL-{n}"))
            if n % 50 == 0:
                largest = max(largest, wal.stat().st_size)
    finally:
        store.close()
    assert largest > 0
    assert largest < 16 * 1024 * 1024, (
        f"WAL reached {largest / 2**20:.0f} MiB over {COMMITS} commits"
    )
