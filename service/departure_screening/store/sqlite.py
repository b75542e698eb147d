"""The default store: one SQLite file, for a single server (or several on one host).

Durability: WAL journal with ``synchronous=FULL``, so a commit is on disk before
the screening is acknowledged and survives kill -9 or power loss as far as SQLite
and the disk allow. Concurrency: every writing transaction starts with
``BEGIN IMMEDIATE``, which takes SQLite's single write lock before anything is
read, so screenings of one group (from any thread or process) run one after the
other and each sees the ones before it.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from departure_screening.alerts import AlertHub
from departure_screening.errors import StoreUnavailable
from departure_screening.store import chain
from departure_screening.store.migrations.sqlite import MIGRATIONS
from departure_screening.store.sqlbase import Db, Row, SqlStore

# How long a writer waits for another process's write lock before reporting UNAVAILABLE.
DEFAULT_BUSY_TIMEOUT = 30.0


class _SqliteDb:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(sql, tuple(params))

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        # fetchall() runs the statement to completion (an INSERT … RETURNING included),
        # so nothing is left pending when the transaction commits.
        rows = self._conn.execute(sql, tuple(params)).fetchall()
        return tuple(rows[0]) if rows else None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return [tuple(r) for r in self._conn.execute(sql, tuple(params)).fetchall()]

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        for r in self._conn.execute(sql, tuple(params)):
            yield tuple(r)


class SqliteStore(SqlStore):
    def __init__(
        self,
        path: str | os.PathLike[str],
        alerts: AlertHub | None = None,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> None:
        self.alerts = alerts or AlertHub()
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        self._idle: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        # SQLite's busy handler polls with sleeps; queueing this process's writers on
        # a lock first keeps them from polling each other. BEGIN IMMEDIATE still does
        # the serialising across processes.
        self._write_lock = threading.Lock()
        self._closed = False
        with self._errors():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.applied_migrations = self._migrate()

    # -- connections ------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout,
            isolation_level=None,  # transactions are begun explicitly
            check_same_thread=False,  # connections move between worker threads via the pool
        )
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._pool_lock:
            if self._closed:
                raise StoreUnavailable("the store is closed")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
        finally:
            with self._pool_lock:
                if self._closed:
                    conn.close()
                else:
                    self._idle.append(conn)

    @contextmanager
    def _transaction(
        self, *, locks: Sequence[str] = (), write: bool = True, purge: bool = False
    ) -> Iterator[Db]:
        # ``locks`` need nothing more here: BEGIN IMMEDIATE serialises every writer.
        with self._writer() if write else nullcontext(), self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            if purge:
                conn.execute("INSERT INTO purge_guard (active) VALUES (1)")
            yield _SqliteDb(conn)
            if purge:
                conn.execute("DELETE FROM purge_guard")
            conn.execute("COMMIT")

    @contextmanager
    def _writer(self) -> Iterator[None]:
        # Bounded like SQLite's own busy wait: a stuck writer makes others report
        # UNAVAILABLE instead of hanging their callers.
        if not self._write_lock.acquire(timeout=self._busy_timeout):
            raise StoreUnavailable("SQLite store unavailable: timed out waiting for a writer")
        try:
            yield
        finally:
            self._write_lock.release()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as e:
            raise StoreUnavailable(f"SQLite store unavailable: {type(e).__name__}: {e}") from e

    def _migrate(self) -> tuple[int, ...]:
        with self._connection() as conn:
            # Two processes starting at once: the second waits on the write lock,
            # then finds the migrations applied.
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                " name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            applied = self._apply_migrations(
                _SqliteDb(conn), MIGRATIONS, chain.utc_text(dt.datetime.now(dt.UTC))
            )
            conn.execute("COMMIT")
            return applied

    # -- parameters -------------------------------------------------------------

    def _date_param(self, value: dt.date) -> Any:
        return value.isoformat()

    def _instant_param(self, value: dt.datetime) -> Any:
        return chain.utc_text(value)

    def _date_text(self, value: Any) -> str:
        return str(value)

    def _instant_text(self, value: Any) -> str:
        return str(value)

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
