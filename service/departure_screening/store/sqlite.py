"""The default store: one SQLite file, for a single server (or several on one host).

Durability: WAL journal with ``synchronous=FULL``, so a commit is on disk before
the screening is acknowledged and survives kill -9 or power loss as far as SQLite
and the disk allow. Concurrency: every writing transaction starts with
``BEGIN IMMEDIATE``, which takes SQLite's single write lock before anything is
read, so screenings of one group (from any thread or process) run one after the
other and each sees the ones before it. Writers of several processes first queue
on a lock file (``<db>.lock``): SQLite's own busy wait polls with sleeps of up to
100 ms, which would stall a counter behind another process's commit.

Group alerts reach watchers through the alert feed (``alert_feed.py``), which reads
the alerts table: at once after this process's commits, and every
``ALERT_POLL_SECONDS`` for other processes' alerts (``watch_other_processes``). A
background thread checkpoints the WAL, so no counter's commit pays for it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from departure_screening.errors import StoreUnavailable
from departure_screening.screening.alerts import AlertHub
from departure_screening.store import chain
from departure_screening.store.migrations.sqlite import MIGRATIONS
from departure_screening.store.sqlbase import Db, Row, SqlStore

log = logging.getLogger(__name__)

# How long a writer waits for another process's write lock before reporting UNAVAILABLE.
DEFAULT_BUSY_TIMEOUT = 30.0
# Page cache of each connection, in KiB.
PAGE_CACHE_KIB = 32 * 1024
# How often alerts raised by other processes are looked for.
ALERT_POLL_SECONDS = 0.2
# How often the WAL is copied back into the database, off the commit path.
CHECKPOINT_SECONDS = 0.2
# WAL frames (pages) past which a commit checkpoints the rest itself: about 32 MiB.
WAL_RESTART_FRAMES = 8192
# Free space on the store's filesystem under which ``check`` (health) reports it full.
# Asked of the filesystem, not found by a probe commit: a failed commit leaves the log's
# new blocks allocated, so a small write still fits there while screenings fail. A
# manifest's chunk of 500 writes about 2 MiB of log.
MIN_FREE_BYTES = 4 * 1024 * 1024


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

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        return self._conn.executemany(sql, rows).rowcount


class SqliteStore(SqlStore):
    def __init__(
        self,
        path: str | os.PathLike[str],
        alerts: AlertHub | None = None,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        watch_other_processes: bool = False,
        existing: bool = False,
        read_only: bool = False,
    ) -> None:
        """``existing``: open the file as it is, never create or migrate it (audit
        commands); ``read_only`` as well: open it with SQLite's ``mode=ro``."""
        self.alerts = alerts or AlertHub()
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        self._idle: list[sqlite3.Connection] = []
        # Every write of this process, on one connection: see ``_writing_connection``.
        self._writing: sqlite3.Connection | None = None
        self._pool_lock = threading.Lock()
        # SQLite's busy handler polls with sleeps; queueing this process's writers on
        # a lock first keeps them from polling each other. BEGIN IMMEDIATE still does
        # the serialising across processes.
        self._write_lock = threading.Lock()
        self._gate_holder: int | None = None
        self._closed = False
        self._stop = threading.Event()
        self._existing = existing or read_only
        self._read_only = read_only
        self._maintenance: threading.Thread | None = None
        self._lock_fd = -1
        if self._existing:
            # Read-only first: a file that is not a store is refused before a pragma
            # (journal mode, say) writes to it.
            with self._errors(), closing(self._connect(read_only=True)) as conn:
                has_table = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table'"
                    " AND name = 'schema_migrations'"
                ).fetchone()
                self._check_schema(_SqliteDb(conn), MIGRATIONS, has_table is not None)
            if read_only:
                return
        with self._errors():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(
                f"{self.path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
            )
            try:
                # Under the lock file: switching a new database to WAL fails at once,
                # without SQLite's busy wait, when another process does it too.
                if not self._existing:
                    with self._writer():
                        self.applied_migrations = self._migrate()
                if not self._existing:
                    # Other processes' alerts are found only by reading; this one's
                    # commits wake the feed.
                    poll = ALERT_POLL_SECONDS if watch_other_processes else 1.0
                    self._start_alert_feed(poll)
            except BaseException:
                os.close(self._lock_fd)
                raise
        self._maintenance = threading.Thread(
            target=self._maintain, daemon=True, name="sqlite-maintenance"
        )
        self._maintenance.start()

    # -- connections ------------------------------------------------------------

    def _connect(self, *, read_only: bool = False) -> sqlite3.Connection:
        read_only = read_only or self._read_only
        if self._existing:
            # A URI mode, so that a file that is not there is an error, not a new store.
            mode = "ro" if read_only else "rw"
            target: str | Path = f"{self.path.resolve().as_uri()}?mode={mode}"
        else:
            target = self.path
        conn = sqlite3.connect(
            target,
            timeout=self._busy_timeout,
            isolation_level=None,  # transactions are begun explicitly
            check_same_thread=False,  # connections move between worker threads via the pool
            uri=self._existing,
        )
        if read_only:
            return conn
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            # The background thread checkpoints; SQLite's own checkpoint inside a commit
            # (a pause of milliseconds for whichever counter made it) is only the
            # backstop that bounds the WAL under steady writing.
            conn.execute(f"PRAGMA wal_autocheckpoint={WAL_RESTART_FRAMES}")
            conn.execute("PRAGMA synchronous=FULL")
            # SQLite's default 2 MiB page cache no longer holds the indexes once the
            # store has tens of thousands of screenings; every insert then reads pages
            # back from the OS (a day's replay took 60 % longer).
            conn.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
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
    def _writing_connection(self) -> Iterator[sqlite3.Connection]:
        """The connection every write of this process takes, under the write lock.

        A connection's page cache is dropped whenever another connection has
        committed since its last transaction. With writes spread over the pool,
        the caches emptied and refilled each other by turns, and the allocator,
        fragmented by their pages, kept growing. One writing connection keeps its
        cache; the readers' caches stay as small as their reads.
        """
        with self._pool_lock:
            if self._closed:
                stale, self._writing = self._writing, None
                if stale is not None:
                    stale.close()
                raise StoreUnavailable("the store is closed")
            conn = self._writing
        if conn is None:
            conn = self._connect()
            self._writing = conn
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
                    self._writing = None

    @contextmanager
    def _transaction(
        self, *, locks: Sequence[str] = (), write: bool = True, purge: bool = False
    ) -> Iterator[Db]:
        # ``locks`` need nothing more here: BEGIN IMMEDIATE serialises every writer.
        with (
            self._writer() if write else nullcontext(),
            self._writing_connection() if write else self._connection() as conn,
        ):
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            if purge:
                conn.execute("INSERT INTO purge_guard (active) VALUES (1)")
            yield _SqliteDb(conn)
            if purge:
                conn.execute("DELETE FROM purge_guard")
            conn.execute("COMMIT")

    def write_gate(self) -> AbstractContextManager[None]:
        """Hold the write lock across a commit queue's batch: taking the batch once
        the lock is ours lets whatever arrived while waiting for it join in."""
        return self._writer()

    @contextmanager
    def _writer(self) -> Iterator[None]:
        if self._gate_holder == threading.get_ident():
            yield  # inside this thread's write_gate: the lock is held already
            return
        if self._read_only:
            raise StoreUnavailable("SQLite store unavailable: opened read-only")
        # Bounded like SQLite's own busy wait: a stuck writer makes others report
        # UNAVAILABLE instead of hanging their callers.
        if not self._write_lock.acquire(timeout=self._busy_timeout):
            raise StoreUnavailable("SQLite store unavailable: timed out waiting for a writer")
        try:
            # Blocks in the kernel without the GIL and wakes as soon as the other
            # process unlocks; the kernel releases it if that process dies.
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            self._gate_holder = threading.get_ident()
            try:
                yield
            finally:
                self._gate_holder = None
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        finally:
            self._write_lock.release()

    def check(self) -> None:
        """Readable, and (unless read-only) with room on its disk for commits."""
        super().check()
        if self._read_only:
            return
        try:
            fs = os.statvfs(self.path.parent)
        except OSError as error:
            raise StoreUnavailable(f"SQLite store unavailable: {error}") from error
        free = fs.f_bavail * fs.f_frsize
        if free < MIN_FREE_BYTES:
            raise StoreUnavailable(
                f"SQLite store unavailable: its disk is full ({free} bytes free,"
                f" {MIN_FREE_BYTES} needed)"
            )

    # -- background work ---------------------------------------------------------

    def _maintain(self) -> None:
        """Checkpoints in the background."""
        failing = ""  # the error reported last; a full disk fails every pass alike
        while not self._stop.wait(CHECKPOINT_SECONDS):
            try:
                self._checkpoint()
            except (sqlite3.Error, StoreUnavailable) as error:
                if not self._stop.is_set() and str(error) != failing:
                    failing = str(error)
                    log.warning("SQLite background work failed: %s", error)
            else:
                if failing:
                    failing = ""
                    log.info("SQLite background work succeeds again")

    def _checkpoint(self) -> None:
        with self._connection() as conn:
            # PASSIVE neither waits for nor blocks the writers. Under steady writing
            # it never copies the frame last appended, so the WAL cannot start over;
            # the commit that takes it past WAL_RESTART_FRAMES does (SQLite's
            # autocheckpoint), with only the frames this pass has not copied left.
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as e:
            raise StoreUnavailable(f"SQLite store unavailable: {type(e).__name__}: {e}") from e

    def _migrate(self) -> tuple[int, ...]:
        with self._writing_connection() as conn:
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

    def _instant_text_param(self, value: dt.datetime, text: str) -> Any:
        return text  # stored as the chain's own text: made once, not again under the lock

    def _date_text(self, value: Any) -> str:
        return str(value)

    def _instant_text(self, value: Any) -> str:
        return str(value)

    def close(self) -> None:
        self._stop.set()
        self._stop_alert_feed()
        if self._maintenance is not None and self._maintenance is not threading.current_thread():
            self._maintenance.join(timeout=5)
        with self._pool_lock:
            if self._closed:
                return
            self._closed = True
            idle, self._idle = self._idle, []
            if not self._write_lock.locked():
                # No writer is in: none will take it now that the store is closed
                # (one holding the lock closes it on the way out).
                if self._writing is not None:
                    idle.append(self._writing)
                self._writing = None
        for conn in idle:
            conn.close()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
