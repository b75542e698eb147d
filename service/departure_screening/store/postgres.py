"""The shared store: PostgreSQL, for several server replicas at once.

Concurrency is the database's: a screening transaction first takes transaction-level
advisory locks on its group keys, so replicas screening members of one group at the
same moment queue in the database, and each sees the commits of the ones before it
(READ COMMITTED takes a fresh snapshot per statement). Request ids take no lock (a
manifest of 500 would take 500): a retry racing its original on another replica
meets UNIQUE(request_id) through INSERT ... ON CONFLICT DO NOTHING, its transaction
is rolled back and run again, and then finds the winner's assessment.

Group alerts reach every replica through the alerts table: each store's alert feed
(``alert_feed.py``) publishes what was stored past the last id it read. The screening
transaction sends a NOTIFY (delivered only if it commits) and each store LISTENs on a
thread of its own, only to wake its feed at once; a notification lost while the
listener reconnects costs a poll interval, never an alert.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg_pool

from departure_screening.domain import GroupAlert
from departure_screening.errors import StoreUnavailable
from departure_screening.screening.alerts import AlertHub
from departure_screening.store import chain
from departure_screening.store.codec import alert_to_obj, canonical
from departure_screening.store.migrations.postgres import MIGRATIONS
from departure_screening.store.sqlbase import Db, Row, SqlStore

log = logging.getLogger(__name__)

ALERT_CHANNEL = "depscreen_alerts"
# NOTIFY payloads must stay under 8000 bytes; a bigger alert is sent by reference.
_MAX_PAYLOAD = 7000
_PING_SECONDS = 5.0
# How often the alert feed reads the table without being woken (a lost notification).
ALERT_POLL_SECONDS = 1.0
_cursor_names = itertools.count()


def lock_id(name: str) -> int:
    """A signed 64-bit advisory-lock key for a name (a collision only adds waiting)."""
    digest = hashlib.sha256(("depscreen:" + name).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# What a ``?`` or ``%`` may stand in without being a placeholder: quoted strings and
# names, dollar-quoted bodies and comments, which are copied as they are.
_SQL_TOKENS = re.compile(
    r"'(?:[^']|'')*'"  # 'string', with '' inside
    r'|"(?:[^"]|"")*"'  # "identifier"
    r"|(\$[A-Za-z_0-9]*\$).*?\1"  # $tag$ body $tag$
    r"|--[^\n]*"  # comment to the end of the line
    r"|/\*.*?\*/"  # block comment
    r"|(\?)|(%)",
    re.DOTALL,
)


def placeholders(sql: str) -> str:
    """``?`` placeholders to psycopg's ``%s``, and a literal ``%`` to ``%%``; a ``?`` or
    ``%`` inside a string, a quoted name or a comment is left alone."""

    def one(m: re.Match[str]) -> str:
        if m.group(2):
            return "%s"
        if m.group(3):
            return "%%"
        return m.group(0).replace("%", "%%")

    return _SQL_TOKENS.sub(one, sql)


def _pg(sql: str, params: Sequence[Any]) -> tuple[str, tuple[Any, ...] | None]:
    """Without parameters the text is sent as it is (psycopg reads no placeholders)."""
    if not params:
        return sql, None
    return placeholders(sql), tuple(params)


class _PgDb:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(*_pg(sql, params))

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row = self._conn.execute(*_pg(sql, params)).fetchone()
        return tuple(row) if row is not None else None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return [tuple(r) for r in self._conn.execute(*_pg(sql, params)).fetchall()]

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        with self._conn.cursor() as cur:
            cur.executemany(placeholders(sql), rows)
            return cur.rowcount

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        # A server-side cursor: verifying a long chain does not load it all at once.
        with self._conn.cursor(name=f"depscreen_stream_{next(_cursor_names)}") as cur:
            cur.itersize = 2000
            cur.execute(*_pg(sql, params))
            for r in cur:
                yield tuple(r)


def _unavailable(e: BaseException) -> StoreUnavailable:
    first_line = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return StoreUnavailable(f"PostgreSQL store unavailable: {type(e).__name__}: {first_line}")


class PostgresStore(SqlStore):
    _FOR_UPDATE = " FOR UPDATE"
    _LOCK_SHADOWS = "LOCK TABLE shadow_results IN ROW EXCLUSIVE MODE"

    def __init__(
        self,
        conninfo: str,
        alerts: AlertHub | None = None,
        *,
        listen: bool = True,
        min_size: int = 1,
        max_size: int = 16,
        timeout: float = 5.0,
        connect_timeout: int = 5,
        lock_timeout: float = 30.0,
        existing: bool = False,
    ) -> None:
        """``existing``: use the schema as it is, never create or migrate it (audit
        commands)."""
        self.alerts = alerts or AlertHub()
        self._conninfo = conninfo
        self._timeout = timeout
        self._origin = uuid.uuid4().hex
        self._connect_kwargs: dict[str, Any] = {
            "connect_timeout": connect_timeout,
            "application_name": "depscreen",
            # Notice a peer that vanished without closing the socket.
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
        }
        self._pool: psycopg_pool.ConnectionPool[psycopg.Connection[Any]] = (
            psycopg_pool.ConnectionPool(
                conninfo,
                min_size=min_size,
                max_size=max_size,
                kwargs=self._connect_kwargs,
                configure=functools.partial(_configure, lock_timeout=lock_timeout),
                # A connection that died while idle (database restarted) is replaced at
                # checkout instead of failing the next screening.
                check=psycopg_pool.ConnectionPool.check_connection,
                timeout=timeout,
                # Give up on a failed reconnection quickly; the next request grows the
                # pool again, so recovery does not wait out a long backoff.
                reconnect_timeout=max(10.0, timeout),
                name="depscreen",
                open=False,
            )
        )
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._listener: threading.Thread | None = None
        try:
            self._pool.open(wait=True, timeout=max(timeout, float(connect_timeout)))
            with self._errors():
                if existing:
                    self._check_existing()
                else:
                    self.applied_migrations = self._migrate()
        except (psycopg.Error, psycopg_pool.PoolTimeout) as e:
            self._pool.close()
            raise _unavailable(e) from e
        except BaseException:
            self._pool.close()
            raise
        if listen:
            self._start_alert_feed(ALERT_POLL_SECONDS)
            self._listener = threading.Thread(
                target=self._listen_loop, name="depscreen-alert-listener", daemon=True
            )
            self._listener.start()
            # Alerts raised by other replicas right after start-up must not be missed.
            self._listening.wait(timeout=max(timeout, float(connect_timeout)))

    # -- transactions -----------------------------------------------------------

    @contextmanager
    def _transaction(
        self, *, locks: Sequence[str] = (), write: bool = True, purge: bool = False
    ) -> Iterator[Db]:
        with self._pool.connection(timeout=self._timeout) as conn, conn.transaction():
            if not write:
                # One snapshot for every statement (verify reads several tables).
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            if locks:
                # One round trip; ascending ids are the one order every transaction
                # keeps, so lock waits never form a cycle.
                conn.execute(
                    "SELECT pg_advisory_xact_lock(l) FROM unnest(%s::bigint[]) AS l",
                    (sorted({lock_id(name) for name in locks}),),
                )
            if purge:
                conn.execute("SET LOCAL depscreen.purge = 'on'")
            yield _PgDb(conn)

    def check(self) -> None:
        # A health probe answers within a couple of seconds even while the pool waits
        # out its full timeout for a connection.
        with self._errors(), self._pool.connection(timeout=min(self._timeout, 2.0)) as conn:
            conn.execute("SELECT 1 FROM chain_state WHERE name = 'head'")
            conn.rollback()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (psycopg.Error, psycopg_pool.PoolTimeout, psycopg_pool.PoolClosed) as e:
            raise _unavailable(e) from e

    def _migrate(self) -> tuple[int, ...]:
        with self._pool.connection(timeout=self._timeout) as conn, conn.transaction():
            # Two replicas starting at once: the second waits here, then finds it done.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_id("migrations"),))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                " name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            return self._apply_migrations(
                _PgDb(conn), MIGRATIONS, chain.utc_text(dt.datetime.now(dt.UTC))
            )

    def _check_existing(self) -> None:
        with self._pool.connection(timeout=self._timeout) as conn, conn.transaction():
            conn.execute("SET TRANSACTION READ ONLY")
            row = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
            self._check_schema(_PgDb(conn), MIGRATIONS, row is not None and row[0] is not None)

    # -- parameters -------------------------------------------------------------

    def _date_param(self, value: dt.date) -> Any:
        return value

    def _instant_param(self, value: dt.datetime) -> Any:
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)

    def _date_text(self, value: Any) -> str:
        return value.isoformat() if isinstance(value, dt.date) else str(value)

    def _instant_text(self, value: Any) -> str:
        if isinstance(value, dt.datetime):
            return chain.utc_text(value)
        return str(value)

    # -- alerts across replicas -------------------------------------------------

    def _announce(self, db: Db, alert: GroupAlert, alert_id: int) -> None:
        payload = canonical({"origin": self._origin, "alert": alert_to_obj(alert)})
        if len(payload.encode("utf-8")) > _MAX_PAYLOAD:
            payload = canonical({"origin": self._origin, "alert_id": alert_id})
        db.execute("SELECT pg_notify(?, ?)", (ALERT_CHANNEL, payload))

    def _listen_loop(self) -> None:
        delay = 0.2
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    self._conninfo, autocommit=True, **self._connect_kwargs
                ) as conn:
                    conn.execute(f"LISTEN {ALERT_CHANNEL}")
                    self._listening.set()
                    # What was raised while it was not listening is read now.
                    self._wake_feed()
                    delay = 0.2
                    last_ping = time.monotonic()
                    while not self._stop.is_set():
                        # The generator holds the connection while it runs: collect, then
                        # deliver (a delivery may query). Notifications arriving meanwhile
                        # wait in psycopg's backlog for the next round.
                        if list(conn.notifies(timeout=0.5, stop_after=1)):
                            self._wake_feed()
                        if time.monotonic() - last_ping > _PING_SECONDS:
                            # A query now and then notices a dead connection early.
                            conn.execute("SELECT 1")
                            last_ping = time.monotonic()
            except psycopg.Error as e:
                if self._stop.is_set():
                    break
                log.warning(
                    "alert listener lost its connection (%s); reconnecting", type(e).__name__
                )
            except Exception:
                log.exception("alert listener failed; restarting")
            self._listening.clear()
            self._stop.wait(delay)
            delay = min(delay * 2, 5.0)

    def _wake_feed(self) -> None:
        if self._feed is not None:
            self._feed.wake()

    def wait_listening(self, timeout: float) -> bool:
        """True once the listener is connected (tests and health checks)."""
        return self._listening.wait(timeout)

    def close(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
        self._stop_alert_feed()
        self._pool.close()


def _configure(conn: psycopg.Connection[Any], *, lock_timeout: float) -> None:
    # An acknowledged commit must be flushed: refuse a server-wide synchronous_commit=off.
    row = conn.execute("SHOW synchronous_commit").fetchone()
    if row is not None and row[0] == "off":
        conn.execute("SET synchronous_commit = on")
    # A screening stuck while holding its group's lock makes the group's other
    # screenings fail UNAVAILABLE after this long instead of waiting forever.
    conn.execute(f"SET lock_timeout = {int(lock_timeout * 1000)}")
    conn.commit()
