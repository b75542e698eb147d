"""What the SQLite and PostgreSQL stores share: the audit trail, history and purge in SQL.

A backend supplies transactions (with its own way of serialising a group's
screenings), parameter conversion and error mapping; everything the rules can
observe is written once, here, to give exactly the semantics of ``MemoryStore``.
SQL is written with ``?`` placeholders; the PostgreSQL backend rewrites them.
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from typing import Any, Protocol

from departure_screening.domain import (
    POSTPONING_DECISIONS,
    Assessment,
    DecisionRecord,
    GroupAlert,
)
from departure_screening.errors import AlreadyExists, NotFound
from departure_screening.screening.alerts import AlertHub
from departure_screening.screening.context import HistoryContext
from departure_screening.screening.ruleset import ContextWindows
from departure_screening.screening.shadow import ShadowResult
from departure_screening.store import chain
from departure_screening.store.alert_feed import ALERT_PAGE, AlertFeed
from departure_screening.store.base import (
    EncodedAssessment,
    ReplayQuery,
    ReplayRecord,
    RequestIdRace,
    ScreeningKeys,
    ShadowReplayRecord,
    StoredAssessment,
    StoredDecision,
    TripKey,
    open_preliminary,
)
from departure_screening.store.chain import (
    ASSESSMENTS,
    DECISIONS,
    PURGES,
    SHADOWS,
    ChainPoint,
    Link,
)
from departure_screening.store.codec import (
    canonical,
    decode_alert,
    decode_assessment,
    decode_decision,
    encode_alert,
    encode_assessment,
    encode_decision,
)
from departure_screening.store.migrations import Migration
from departure_screening.store.shadow_codec import decode_shadow, encode_shadow

Row = tuple[Any, ...]


class Db(Protocol):
    """One open transaction, whatever the driver."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]: ...

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """One statement run for each row of parameters; the number of rows changed."""
        ...


class SchemaError(RuntimeError):
    """The database holds a schema this release does not know (a newer release wrote it)."""


class NoStore(SchemaError):
    """The database holds no store at all (opened as it is, it is not created)."""


@dataclass(frozen=True, slots=True)
class PurgeReport:
    cutoff: dt.datetime
    assessments: int
    decisions: int
    alerts: int
    links_folded: int
    anchor: ChainPoint
    dry_run: bool


class ChainBroken(RuntimeError):
    def __init__(self, report: chain.VerifyReport) -> None:
        self.report = report
        super().__init__(f"audit chain broken at {report.broken}")


_ASSESSMENT_COLUMNS = (
    "assessment_id",
    "request_id",
    "fingerprint",
    "mode",
    "checkpoint",
    "traveller_key",
    "escort_key",
    "group_key",
    "flight_number",
    "departure_date",
    "destination_country",
    "assessed_at",
)
_DECISION_COLUMNS = ("assessment_id", "decision", "officer_id", "decided_at")
_SHADOW_COLUMNS = ("assessment_id", "ruleset_version", "band")
# The schema migration that added shadow_results, on both backends.
SHADOW_SCHEMA_VERSION = 3
_POSTPONING = tuple(sorted(POSTPONING_DECISIONS))
# Bounded IN lists: SQLite caps the number of parameters of a statement.
_BATCH = 400
# Records removed per purge transaction: each holds the writer lock for a short while.
PURGE_CHUNK = 500
# Between two chunks the writer lock is left free this long, so that screenings
# waiting for it get it (a file lock hands itself to no waiter in particular).
PURGE_PAUSE_SECONDS = 0.05


def assessment_columns(
    keys: ScreeningKeys, a: Assessment, assessed_text: str | None = None
) -> dict[str, chain.ColumnValue]:
    """The stored columns of an assessment as text, the way the chain digests them."""
    return {
        "assessment_id": a.assessment_id,
        "request_id": keys.request_id,
        "fingerprint": keys.fingerprint,
        "mode": keys.mode,
        "checkpoint": keys.checkpoint,
        "traveller_key": keys.traveller_key,
        "escort_key": keys.escort_key,
        "group_key": keys.group_key,
        "flight_number": keys.flight_number,
        "departure_date": keys.departure_date.isoformat(),
        "destination_country": keys.destination_country,
        "assessed_at": assessed_text or chain.utc_text(a.assessed_at),
    }


def decision_columns(d: DecisionRecord) -> dict[str, chain.ColumnValue]:
    return {
        "assessment_id": d.assessment_id,
        "decision": d.decision,
        "officer_id": d.officer_id,
        "decided_at": chain.utc_text(d.decided_at),
    }


# A request id committed by another transaction since this one looked for it is
# skipped, not an error: the caller sees fewer rows and runs the batch again.
_INSERT_ASSESSMENT = (
    f"INSERT INTO assessments ({', '.join(_ASSESSMENT_COLUMNS)}, body, chain_seq)"
    f" VALUES ({', '.join('?' * (len(_ASSESSMENT_COLUMNS) + 2))})"
    " ON CONFLICT (request_id) DO NOTHING"
)
_INSERT_LINK = (
    "INSERT INTO audit_chain (seq, record_table, record_id, record_digest, purge_key,"
    " prev_hash, hash, purged) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _link_row(link: Link) -> tuple[Any, ...]:
    return (
        link.seq,
        link.table,
        link.record_id,
        link.record_digest,
        link.purge_key,
        link.prev_hash,
        link.hash,
        False,
    )


def _window(departure: dt.date, days: int) -> tuple[dt.date, dt.date] | None:
    """Departure dates 1 to ``days`` days before ``departure`` (the same day is not earlier)."""
    if days < 1:
        return None
    try:
        latest = departure - dt.timedelta(days=1)
    except OverflowError:
        return None
    try:
        earliest = departure - dt.timedelta(days=days)
    except OverflowError:
        earliest = dt.date.min
    return earliest, latest


def _replay_select(
    query: ReplayQuery,
    date_param: Callable[[dt.date], Any],
    *,
    count: bool = False,
    shadow: bool = False,
) -> tuple[str, list[Any]]:
    where, params = [], []
    for column, op, value in (
        ("departure_date", ">=", query.since),
        ("departure_date", "<=", query.until),
        ("checkpoint", "=", query.checkpoint),
        ("mode", "=", query.mode),
    ):
        if value is not None:
            where.append(f"a.{column} {op} ?")
            params.append(date_param(value) if isinstance(value, dt.date) else value)
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    if count:
        return f"SELECT count(*) FROM assessments a{condition}", params
    last_decision = (
        "(SELECT d.decision FROM decisions d WHERE d.assessment_id = a.assessment_id"
        " ORDER BY d.chain_seq DESC LIMIT 1)"
    )
    if shadow:
        return (
            f"SELECT a.body, a.departure_date, {last_decision}, s.body FROM assessments a"
            f" LEFT JOIN shadow_results s ON s.assessment_id = a.assessment_id{condition}"
            " ORDER BY a.chain_seq",
            params,
        )
    return (
        f"SELECT a.body, a.departure_date, {last_decision} FROM assessments a{condition}"
        " ORDER BY a.chain_seq",
        params,
    )


def _has_shadows(db: Db) -> bool:
    """Whether the store has its shadow results table: a store opened as it is (by the
    audit commands, without migrating) may predate it, and still reads and verifies."""
    row = db.one("SELECT MAX(version) FROM schema_migrations")
    return row is not None and row[0] is not None and int(row[0]) >= SHADOW_SCHEMA_VERSION


def _shadow_values(r: ShadowResult) -> tuple[str, str, str]:
    return (r.assessment_id, r.ruleset_version, r.band)


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    """``values`` in runs of at most _BATCH, one IN list each."""
    for at in range(0, len(values), _BATCH):
        yield values[at : at + _BATCH]


def _placeholders(n: int) -> str:
    return ", ".join("?" * n)


class SqlStore(ABC):
    """The audit trail and history over SQL; subclasses bind a database."""

    alerts: AlertHub
    applied_migrations: tuple[int, ...] = ()
    _feed: AlertFeed | None = None
    # Appended to the read of the chain head so that appends queue on it.
    _FOR_UPDATE = ""
    _LOCK_SHADOWS = ""

    # -- backend hooks --------------------------------------------------------

    @abstractmethod
    def _transaction(
        self, *, locks: Sequence[str] = (), write: bool = True, purge: bool = False
    ) -> AbstractContextManager[Db]:
        """A transaction committed on normal exit, rolled back on an exception.

        ``locks`` names what concurrent screenings must not do at once (the request
        id, the group); a write transaction holds them until it ends.
        """

    @abstractmethod
    def _errors(self) -> AbstractContextManager[None]:
        """Turns driver errors into ``StoreUnavailable``."""

    @abstractmethod
    def _date_param(self, value: dt.date) -> Any: ...

    @abstractmethod
    def _instant_param(self, value: dt.datetime) -> Any: ...

    def _instant_text_param(self, value: dt.datetime, text: str) -> Any:
        """``_instant_param`` of ``value``, whose ``chain.utc_text`` is ``text``."""
        return self._instant_param(value)

    @abstractmethod
    def _date_text(self, value: Any) -> str: ...

    @abstractmethod
    def _instant_text(self, value: Any) -> str: ...

    def _announce(self, db: Db, alert: GroupAlert, alert_id: int) -> None:
        """Tell other replicas of an alert, inside the transaction that raised it."""
        return None

    # -- migrations -----------------------------------------------------------

    @staticmethod
    def _apply_migrations(
        db: Db, migrations: tuple[Migration, ...], applied_at: str
    ) -> tuple[int, ...]:
        """Apply what is missing; the caller holds a lock that keeps other processes out."""
        done = {int(r[0]) for r in db.all("SELECT version FROM schema_migrations")}
        known = migrations[-1].version if migrations else 0
        if done and max(done) > known:
            raise SchemaError(
                f"the database schema is at version {max(done)}, newer than this release "
                f"knows ({known}); upgrade the service"
            )
        applied: list[int] = []
        for m in migrations:
            if m.version in done:
                continue
            for statement in m.statements:
                db.execute(statement)
            db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (m.version, m.name, applied_at),
            )
            applied.append(m.version)
        return tuple(applied)

    @staticmethod
    def _check_schema(db: Db, migrations: tuple[Migration, ...], has_table: bool) -> None:
        """For a store opened as it is (no migration): one this release can read."""
        if not has_table:
            raise NoStore("the database holds no departure-screening store")
        done = {int(r[0]) for r in db.all("SELECT version FROM schema_migrations")}
        known = migrations[-1].version if migrations else 0
        if not done:
            raise NoStore("the database holds no departure-screening store")
        if max(done) > known:
            raise SchemaError(
                f"the database schema is at version {max(done)}, newer than this release "
                f"knows ({known}); upgrade the service"
            )

    # -- Store ----------------------------------------------------------------

    @contextmanager
    def screening(self, keys: ScreeningKeys) -> Iterator[_SqlTransaction]:
        with self.screenings([keys]) as (tx,):
            yield tx

    @contextmanager
    def screenings(self, keys: Sequence[ScreeningKeys]) -> Iterator[list[_SqlTransaction]]:
        # Every group of the batch is locked up front, so two transactions never wait
        # on each other in a cycle; the backend takes them in one fixed order. Request
        # ids take no lock: UNIQUE(request_id) with ON CONFLICT finds a racing retry
        # (RequestIdRace), so a manifest of 500 travellers takes a lock per group only.
        locks = {"group:" + k.group_key for k in keys if k.group_key}
        with self._errors(), self._transaction(locks=sorted(locks)) as db:
            batch = _ScreeningBatch(self, db, keys)
            txs = [_SqlTransaction(batch, k) for k in keys]
            yield txs
            batch.flush()
        if self._feed is not None and any(tx.alert is not None for tx in txs):
            # After commit, so watchers never hear of an alert that was rolled back.
            self._feed.wake()

    def record_decision(self, record: DecisionRecord) -> Assessment:
        return self.decide(record, "").assessment

    def decide(self, record: DecisionRecord, fingerprint: str) -> StoredDecision:
        with self._errors(), self._transaction() as db:
            # Chain head first (the order every writer keeps), then the assessment: a
            # purge running meanwhile has either finished, or not started. Every
            # decision takes it, so two with one request id cannot both be new.
            db.one("SELECT seq FROM chain_state WHERE name = 'head'" + self._FOR_UPDATE)
            if record.request_id:
                earlier = db.one(
                    "SELECT d.body, d.fingerprint, a.body FROM decisions d JOIN assessments a"
                    " ON a.assessment_id = d.assessment_id WHERE d.request_id = ?",
                    (record.request_id,),
                )
                if earlier is not None:
                    if str(earlier[1]) != fingerprint:
                        raise AlreadyExists(
                            f"request_id {record.request_id!r} was already used for a"
                            " different decision"
                        )
                    return StoredDecision(
                        decode_assessment(str(earlier[2])),
                        decode_decision(str(earlier[0])),
                        replayed=True,
                    )
            row = db.one(
                "SELECT body, assessed_at FROM assessments WHERE assessment_id = ?",
                (record.assessment_id,),
            )
            if row is None:
                raise NotFound(f"no assessment {record.assessment_id!r}")
            body = encode_decision(record)
            digest = chain.record_digest(DECISIONS, decision_columns(record), body)
            # A decision is purged with its assessment, so it carries the same purge key.
            link = self._append_link(
                db, DECISIONS, record.assessment_id, digest, self._instant_text(row[1])
            )
            db.execute(
                "INSERT INTO decisions (chain_seq, assessment_id, decision, officer_id,"
                " decided_at, body, request_id, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    link.seq,
                    record.assessment_id,
                    record.decision,
                    record.officer_id,
                    self._instant_param(record.decided_at),
                    body,
                    record.request_id or None,
                    fingerprint or None,
                ),
            )
            return StoredDecision(decode_assessment(str(row[0])), record)

    def get_assessment(self, assessment_id: str) -> tuple[Assessment, list[DecisionRecord]]:
        with self._errors(), self._transaction(write=False) as db:
            row = db.one("SELECT body FROM assessments WHERE assessment_id = ?", (assessment_id,))
            if row is None:
                raise NotFound(f"no assessment {assessment_id!r}")
            decisions = db.all(
                "SELECT body FROM decisions WHERE assessment_id = ? ORDER BY chain_seq",
                (assessment_id,),
            )
            return decode_assessment(str(row[0])), [decode_decision(str(r[0])) for r in decisions]

    def replay_records(self, query: ReplayQuery) -> Iterator[ReplayRecord]:
        """Stored assessments in ``query``, oldest first, each with its last decision.

        One read-only snapshot, streamed: a replay of a year never holds it all.
        """
        sql, params = _replay_select(query, self._date_param)
        with self._errors(), self._transaction(write=False) as db:
            for row in db.stream(sql, params):
                yield ReplayRecord(
                    decode_assessment(str(row[0])),
                    dt.date.fromisoformat(self._date_text(row[1])),
                    None if row[2] is None else str(row[2]),
                )

    def count_replay_records(self, query: ReplayQuery) -> int:
        sql, params = _replay_select(query, self._date_param, count=True)
        with self._errors(), self._transaction(write=False) as db:
            row = db.one(sql, params)
            return int(row[0]) if row else 0

    def alerts_after(
        self,
        after: int,
        *,
        checkpoint: str | None = None,
        mode: str | None = None,
        limit: int = ALERT_PAGE,
    ) -> list[GroupAlert]:
        """Stored alerts with an id past ``after``, in id order (raise order)."""
        where: list[str] = ["alert_id > ?"]
        params: list[Any] = [after]
        if checkpoint is not None:
            where.append("checkpoint = ?")
            params.append(checkpoint)
        if mode is not None:
            where.append("mode = ?")
            params.append(mode)
        with self._errors(), self._transaction(write=False) as db:
            rows = db.all(
                f"SELECT alert_id, body FROM group_alerts WHERE {' AND '.join(where)}"
                " ORDER BY alert_id LIMIT ?",
                (*params, limit),
            )
        return [replace(decode_alert(str(body)), alert_id=int(i)) for i, body in rows]

    def _start_alert_feed(self, poll_seconds: float) -> None:
        """Publish alerts stored from now on to ``self.alerts`` (a serving store)."""
        with self._errors(), self._transaction(write=False) as db:
            row = db.one("SELECT COALESCE(MAX(alert_id), 0) FROM group_alerts")
        last = int(row[0]) if row else 0
        self._feed = AlertFeed(
            self.alerts_after, self.alerts, start_after=last, poll_seconds=poll_seconds
        )

    def _stop_alert_feed(self) -> None:
        if self._feed is not None:
            self._feed.close()

    def save_shadows(self, results: Sequence[ShadowResult]) -> None:
        """Store shadow results beside their assessments, chained, in one transaction.

        A result whose assessment is gone (purged meanwhile) is dropped."""
        if not results:
            return
        with self._errors(), self._transaction() as db:
            if self._LOCK_SHADOWS:
                # Wait for the table before the chain head: a shadow write held up on it
                # must not hold up the screenings that append to the chain meanwhile.
                db.execute(self._LOCK_SHADOWS)
            db.one("SELECT seq FROM chain_state WHERE name = 'head'" + self._FOR_UPDATE)
            assessed: dict[str, Any] = {}
            for part in _chunks(sorted({r.assessment_id for r in results})):
                for assessment_id, at in db.all(
                    "SELECT assessment_id, assessed_at FROM assessments"
                    f" WHERE assessment_id IN ({_placeholders(len(part))})",
                    part,
                ):
                    assessed[str(assessment_id)] = at
            appender = _ChainAppender(self, db)
            rows = []
            for r in results:
                if r.assessment_id not in assessed:
                    continue
                body = encode_shadow(r)
                columns = dict(zip(_SHADOW_COLUMNS, _shadow_values(r), strict=True))
                digest = chain.record_digest(SHADOWS, columns, body)
                # Purged with its assessment, so it carries the same purge key.
                purge_key = self._instant_text(assessed[r.assessment_id])
                link = appender.append(SHADOWS, r.assessment_id, digest, purge_key)
                rows.append((*_shadow_values(r), body, link.seq))
            if rows:
                db.many(
                    "INSERT INTO shadow_results (assessment_id, ruleset_version, band, body,"
                    " chain_seq) VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
            appender.flush()

    def shadow_records(self, query: ReplayQuery) -> Iterator[ShadowReplayRecord]:
        """Stored assessments in ``query``, oldest first, each with its last decision
        and its shadow result (None without one), on one read-only snapshot."""
        with self._errors(), self._transaction(write=False) as db:
            shadow = _has_shadows(db)
            sql, params = _replay_select(query, self._date_param, shadow=shadow)
            for row in db.stream(sql, params):
                yield ShadowReplayRecord(
                    decode_assessment(str(row[0])),
                    dt.date.fromisoformat(self._date_text(row[1])),
                    None if row[2] is None else str(row[2]),
                    decode_shadow(str(row[3])) if shadow and row[3] is not None else None,
                )

    def write_gate(self) -> AbstractContextManager[None]:
        return nullcontext()

    def chain_head(self) -> ChainPoint:
        """The last link appended to the audit chain; sequence 0 while none has been."""
        with self._errors(), self._transaction(write=False) as db:
            return self._chain_point(db, "head")

    @contextmanager
    def snapshot(self) -> Iterator[Db]:
        """One read-only transaction over one snapshot of the whole store (backups)."""
        with self._errors(), self._transaction(write=False) as db:
            yield db

    def check(self) -> None:
        with self._errors(), self._transaction(write=False) as db:
            db.one("SELECT seq FROM chain_state WHERE name = 'head'")

    @abstractmethod
    def close(self) -> None: ...

    # -- inside a screening ---------------------------------------------------

    def _existing_many(self, db: Db, request_ids: Sequence[str]) -> dict[str, StoredAssessment]:
        found: dict[str, StoredAssessment] = {}
        for part in _chunks(sorted(set(request_ids))):
            for request_id, body, fingerprint in db.all(
                "SELECT request_id, body, fingerprint FROM assessments"
                f" WHERE request_id IN ({_placeholders(len(part))})",
                part,
            ):
                found[str(request_id)] = StoredAssessment(
                    decode_assessment(str(body)), str(fingerprint)
                )
        return found

    def _history(
        self,
        batch: _ScreeningBatch,
        keys: ScreeningKeys,
        watchlist: frozenset[str],
        windows: ContextWindows,
    ) -> HistoryContext:
        db = batch.db
        members: dict[str, str] = {}
        if keys.group_key:
            # Screening order is commit order, which the chain sequence records.
            for traveller_key, assessment_id in db.all(
                "SELECT traveller_key, assessment_id FROM assessments"
                # group_key <> '' repeats the partial index's condition so that the
                # planner may use it with a bound parameter.
                " WHERE group_key = ? AND group_key <> '' AND mode = ? AND traveller_key <> ?"
                " ORDER BY chain_seq",
                (keys.group_key, keys.mode, keys.escort_key),
            ):
                members.setdefault(str(traveller_key), str(assessment_id))
        earlier = tuple(a for t, a in members.items() if t != keys.traveller_key)
        new_member = keys.traveller_key not in members
        # The escort is not a member of the group they lead.
        joins = bool(keys.group_key) and keys.traveller_key != keys.escort_key and new_member
        return HistoryContext(
            group_members=len(members) + (1 if joins else 0),
            earlier_group_assessments=earlier,
            new_member=new_member,
            escort_watchlist_trips=self._escort_trips(db, keys, watchlist, windows),
            prior_postponements=batch.prior_postponements(keys, windows),
        )

    def _escort_trips(
        self, db: Db, keys: ScreeningKeys, watchlist: frozenset[str], windows: ContextWindows
    ) -> int:
        span = _window(keys.departure_date, windows.escort_window_days)
        if not keys.escort_key or not watchlist or span is None:
            return 0
        countries = sorted(watchlist)
        row = db.one(
            "SELECT COUNT(*) FROM (SELECT DISTINCT flight_number, departure_date"
            " FROM assessments WHERE escort_key = ? AND escort_key <> '' AND mode = ?"
            " AND departure_date BETWEEN ? AND ?"
            f" AND destination_country IN ({_placeholders(len(countries))})) AS trips",
            (
                keys.escort_key,
                keys.mode,
                self._date_param(span[0]),
                self._date_param(span[1]),
                *countries,
            ),
        )
        return int(row[0]) if row else 0

    def _postponed_trips(
        self, db: Db, keys: Sequence[ScreeningKeys]
    ) -> dict[tuple[str, str], set[tuple[str, dt.date]]]:
        """Every trip of the batch's travellers with a postponing decision, by (traveller,
        mode). Screening records no decision, so one read serves the whole batch."""
        trips: dict[tuple[str, str], set[tuple[str, dt.date]]] = {}
        for part in _chunks(sorted({k.traveller_key for k in keys})):
            for traveller_key, mode, flight_number, departure_date in db.all(
                "SELECT DISTINCT a.traveller_key, a.mode, a.flight_number, a.departure_date"
                f" FROM assessments a WHERE a.traveller_key IN ({_placeholders(len(part))})"
                " AND EXISTS (SELECT 1 FROM decisions d WHERE d.assessment_id = a.assessment_id"
                f" AND d.decision IN ({_placeholders(len(_POSTPONING))}))",
                (*part, *_POSTPONING),
            ):
                trips.setdefault((str(traveller_key), str(mode)), set()).add(
                    (str(flight_number), dt.date.fromisoformat(self._date_text(departure_date)))
                )
        return trips

    def _staged_by_trip(
        self, db: Db, keys: Sequence[ScreeningKeys]
    ) -> dict[TripKey, list[Assessment]]:
        """The staged assessments (format 3: preliminary ones and those superseding one) of
        the batch's counter screenings' travellers, by trip, in screening order. One read
        for the batch; a traveller screened only at counters has none."""
        wanted = {k.trip_key for k in keys if not k.preliminary}
        found: dict[TripKey, list[Assessment]] = {}
        for part in _chunks(sorted({t[0] for t in wanted})):
            for traveller_key, mode, flight_number, departure_date, body in db.all(
                "SELECT traveller_key, mode, flight_number, departure_date, body FROM assessments"
                f" WHERE traveller_key IN ({_placeholders(len(part))})"
                " AND body LIKE '%\"supersedes\":%' ORDER BY chain_seq",
                part,
            ):
                day = dt.date.fromisoformat(self._date_text(departure_date))
                trip = (str(traveller_key), str(mode), str(flight_number), day)
                if trip in wanted:
                    found.setdefault(trip, []).append(decode_assessment(str(body)))
        return found

    def encode(self, keys: ScreeningKeys, assessment: Assessment) -> EncodedAssessment:
        assessed = chain.utc_text(assessment.assessed_at)
        body = encode_assessment(assessment)
        columns = assessment_columns(keys, assessment, assessed)
        return EncodedAssessment(
            assessment, assessed, body, chain.record_digest(ASSESSMENTS, columns, body)
        )

    def _save(
        self,
        batch: _ScreeningBatch,
        keys: ScreeningKeys,
        a: Assessment,
        alert: GroupAlert | None,
        encoded: EncodedAssessment | None,
    ) -> None:
        db = batch.db
        if encoded is None or encoded.assessment is not a:
            encoded = self.encode(keys, a)
        assessed, body = encoded.assessed_text, encoded.body
        link = batch.chain.append(ASSESSMENTS, a.assessment_id, encoded.digest, assessed)
        row = (
            a.assessment_id,
            keys.request_id,
            keys.fingerprint,
            keys.mode,
            keys.checkpoint,
            keys.traveller_key,
            keys.escort_key,
            keys.group_key,
            keys.flight_number,
            self._date_param(keys.departure_date),
            keys.destination_country,
            self._instant_text_param(a.assessed_at, assessed),
            body,
            link.seq,
        )
        if keys.group_key:
            # Later members of the group in this batch read it back: write it now.
            if db.one(_INSERT_ASSESSMENT + " RETURNING chain_seq", row) is None:
                raise RequestIdRace(keys.request_id)
        else:
            # Nothing in the batch reads an assessment without a group: write it with
            # the others when the batch ends.
            batch.assessment_rows.append(row)
        batch.existing[keys.request_id] = StoredAssessment(a, keys.fingerprint)
        if a.preliminary or a.supersedes:
            batch.staged.setdefault(keys.trip_key, []).append(a)
        if alert is not None:
            alert_row = db.one(
                "INSERT INTO group_alerts (assessment_id, checkpoint, mode, raised_at, body)"
                " VALUES (?, ?, ?, ?, ?) RETURNING alert_id",
                (
                    a.assessment_id,
                    alert.checkpoint,
                    alert.mode,
                    self._instant_param(alert.raised_at),
                    encode_alert(alert),
                ),
            )
            assert alert_row is not None
            self._announce(db, alert, int(alert_row[0]))

    def _append_link(self, db: Db, table: str, record_id: str, digest: str, purge_key: str) -> Link:
        """Append one link now (decisions, purges); screenings go through a batch."""
        appender = _ChainAppender(self, db)
        link = appender.append(table, record_id, digest, purge_key)
        appender.flush()
        return link

    def _chain_head(self, db: Db) -> ChainPoint:
        """The head, locked until the transaction ends (appends queue on it)."""
        return self._chain_point(db, "head", self._FOR_UPDATE)

    # -- audit ----------------------------------------------------------------

    def verify_chain(self) -> chain.VerifyReport:
        """Check every link after the anchor against the records, on one snapshot."""
        with self._errors(), self._transaction(write=False) as db:
            return self._verify(db)

    def _verify(self, db: Db) -> chain.VerifyReport:
        anchor = self._chain_point(db, "anchor")
        head = self._chain_point(db, "head")
        events = [
            _purge_event(int(r[0]), str(r[1]))
            for r in db.all("SELECT chain_seq, body FROM purges ORDER BY chain_seq")
        ]
        links = (
            Link(
                int(r[0]),
                str(r[1]),
                str(r[2]),
                str(r[3]),
                str(r[4]),
                str(r[5]),
                str(r[6]),
                bool(r[7]),
            )
            for r in db.stream(
                "SELECT seq, record_table, record_id, record_digest, purge_key, prev_hash, hash,"
                " purged FROM audit_chain WHERE seq > ? ORDER BY seq",
                (anchor.seq,),
            )
        )
        assessments = (
            self._assessment_record(r)
            for r in db.stream(
                f"SELECT chain_seq, {', '.join(_ASSESSMENT_COLUMNS)}, body FROM assessments"
                " ORDER BY chain_seq"
            )
        )
        decisions = (
            self._decision_record(r)
            for r in db.stream(
                f"SELECT chain_seq, {', '.join(_DECISION_COLUMNS)}, body FROM decisions"
                " ORDER BY chain_seq"
            )
        )
        purges = (
            chain.StoredRecord(
                int(r[0]),
                PURGES,
                str(r[1]),
                chain.record_digest(
                    PURGES, {"purge_id": str(r[1]), "cutoff": str(r[2])}, str(r[3])
                ),
            )
            for r in db.stream(
                "SELECT chain_seq, purge_id, cutoff, body FROM purges ORDER BY chain_seq"
            )
        )
        shadows = (
            ()
            if not _has_shadows(db)
            else (
                chain.StoredRecord(
                    int(r[0]),
                    SHADOWS,
                    str(r[1]),
                    chain.record_digest(
                        SHADOWS,
                        dict(zip(_SHADOW_COLUMNS, map(str, r[1:-1]), strict=True)),
                        str(r[-1]),
                    ),
                )
                for r in db.stream(
                    f"SELECT chain_seq, {', '.join(_SHADOW_COLUMNS)}, body FROM shadow_results"
                    " ORDER BY chain_seq"
                )
            )
        )
        records = heapq.merge(assessments, decisions, purges, shadows, key=lambda r: r.seq)
        return chain.verify(anchor, head, links, records, events)

    def _assessment_record(self, r: Row) -> chain.StoredRecord:
        values = list(r[1:-1])
        values[_ASSESSMENT_COLUMNS.index("departure_date")] = self._date_text(
            values[_ASSESSMENT_COLUMNS.index("departure_date")]
        )
        at = _ASSESSMENT_COLUMNS.index("assessed_at")
        values[at] = self._instant_text(values[at])
        columns = {k: str(v) for k, v in zip(_ASSESSMENT_COLUMNS, values, strict=True)}
        digest = chain.record_digest(ASSESSMENTS, columns, str(r[-1]))
        return chain.StoredRecord(
            int(r[0]),
            ASSESSMENTS,
            columns["assessment_id"],
            digest,
            purge_key=columns["assessed_at"],
        )

    def _decision_record(self, r: Row) -> chain.StoredRecord:
        columns = {k: str(v) for k, v in zip(_DECISION_COLUMNS, r[1:-1], strict=True)}
        columns["decided_at"] = self._instant_text(r[-2])
        digest = chain.record_digest(DECISIONS, columns, str(r[-1]))
        return chain.StoredRecord(int(r[0]), DECISIONS, columns["assessment_id"], digest)

    @staticmethod
    def _chain_point(db: Db, name: str, for_update: str = "") -> ChainPoint:
        row = db.one("SELECT seq, hash FROM chain_state WHERE name = ?" + for_update, (name,))
        if row is None:
            raise SchemaError(f"chain_state has no {name} row")
        return ChainPoint(int(row[0]), str(row[1]))

    def purge(self, cutoff: dt.datetime, *, dry_run: bool = False) -> PurgeReport:
        """Remove assessments assessed before ``cutoff``, with their decisions and alerts.

        Their links stay, marked purged, and a purge event with the cutoff is appended
        to the chain, so the chain still verifies; purged links at the start of the
        chain are folded into the anchor. The chain is verified first, on a snapshot
        and without the writer lock: a purge never launders a broken chain into a
        fresh anchor. Then records go in chunks of at most ``PURGE_CHUNK``, each in a
        short transaction of its own that ends with a purge event, so screening goes
        on between chunks and the chain verifies after each. Raises ``ChainBroken``.
        """
        report = self.verify_chain()
        if not report.ok:
            raise ChainBroken(report)
        if dry_run:
            return self._purge_counts(cutoff, report.anchor)
        totals = [0, 0, 0, 0]  # assessments, decisions, alerts, links folded
        anchor = report.anchor
        while True:
            with self._errors(), self._transaction(purge=True) as db:
                done, counts, anchor = self._purge_chunk(db, cutoff)
            totals = [t + c for t, c in zip(totals, counts, strict=True)]
            if not done:
                time.sleep(PURGE_PAUSE_SECONDS)
            if done:
                a, d, al, folded = totals
                return PurgeReport(cutoff, a, d, al, folded, anchor, False)

    def _purge_counts(self, cutoff: dt.datetime, anchor: ChainPoint) -> PurgeReport:
        at = self._instant_param(cutoff)
        with self._errors(), self._transaction(write=False) as db:
            counts = [
                db.one(sql, (at,))
                for sql in (
                    "SELECT COUNT(*) FROM assessments WHERE assessed_at < ?",
                    "SELECT COUNT(*) FROM decisions d JOIN assessments a"
                    " ON a.assessment_id = d.assessment_id WHERE a.assessed_at < ?",
                    "SELECT COUNT(*) FROM group_alerts WHERE raised_at < ?",
                )
            ]
        a, d, al = (int(r[0]) if r else 0 for r in counts)
        return PurgeReport(cutoff, a, d, al, 0, anchor, True)

    def _purge_chunk(
        self, db: Db, cutoff: dt.datetime
    ) -> tuple[bool, tuple[int, int, int, int], ChainPoint]:
        """One bounded step: the oldest records up to a chunk cutoff, and its purge event.

        Everything assessed before the chunk's cutoff goes, so the event appended
        with that cutoff covers exactly what was removed."""
        # Lock the head before touching any record: appends take it first too,
        # so purge and screenings never wait on each other in a cycle.
        db.one("SELECT seq FROM chain_state WHERE name = 'head'" + self._FOR_UPDATE)
        anchor = self._chain_point(db, "anchor")
        head = self._chain_point(db, "head")
        rows = db.all(
            "SELECT assessment_id, assessed_at FROM assessments WHERE assessed_at < ?"
            " ORDER BY assessed_at, chain_seq LIMIT ?",
            (self._instant_param(cutoff), PURGE_CHUNK + 1),
        )
        done = len(rows) <= PURGE_CHUNK
        chunk_cutoff = cutoff
        ids = [str(r[0]) for r in rows]
        if not done:
            boundary = rows[PURGE_CHUNK][1]
            ids = [str(r[0]) for r in rows[:PURGE_CHUNK] if r[1] < boundary]
            if not ids:  # one instant holds more than a chunk: take it whole
                ids = [
                    str(r[0])
                    for r in db.all(
                        "SELECT assessment_id FROM assessments WHERE assessed_at = ?", (boundary,)
                    )
                ]
                later = db.one(
                    "SELECT MIN(assessed_at) FROM assessments WHERE assessed_at > ?"
                    " AND assessed_at < ?",
                    (boundary, self._instant_param(cutoff)),
                )
                boundary = later[0] if later and later[0] is not None else None
                done = boundary is None
            if boundary is not None:
                chunk_cutoff = chain.parse_utc_text(self._instant_text(boundary))
        at = self._instant_param(chunk_cutoff)
        decisions = 0
        shadows = _has_shadows(db)
        for batch in _chunks(ids):
            marks = _placeholders(len(batch))
            row = db.one(f"SELECT COUNT(*) FROM decisions WHERE assessment_id IN ({marks})", batch)
            decisions += int(row[0]) if row else 0
            db.execute(
                f"UPDATE audit_chain SET purged = ? WHERE record_id IN ({marks})"
                " AND record_table IN (?, ?, ?)",
                (True, *batch, ASSESSMENTS, DECISIONS, SHADOWS),
            )
            db.execute(f"DELETE FROM decisions WHERE assessment_id IN ({marks})", batch)
            if shadows:
                db.execute(f"DELETE FROM shadow_results WHERE assessment_id IN ({marks})", batch)
            db.execute(f"DELETE FROM assessments WHERE assessment_id IN ({marks})", batch)
        row = db.one("SELECT COUNT(*) FROM group_alerts WHERE raised_at < ?", (at,))
        alerts = int(row[0]) if row else 0
        db.execute("DELETE FROM group_alerts WHERE raised_at < ?", (at,))
        anchor, folded = self._fold_purged_prefix(db, anchor, head, chain.utc_text(chunk_cutoff))
        cutoff_text = chain.utc_text(chunk_cutoff)
        purge_id = uuid.uuid4().hex
        body = canonical(
            {
                "format": 1,
                "purge_id": purge_id,
                "cutoff": cutoff_text,
                "purged_at": chain.utc_text(dt.datetime.now(dt.UTC)),
                "assessments": len(ids),
                "decisions": decisions,
                "alerts": alerts,
                "anchor": {"seq": anchor.seq, "hash": anchor.hash},
            }
        )
        digest = chain.record_digest(PURGES, {"purge_id": purge_id, "cutoff": cutoff_text}, body)
        link = self._append_link(db, PURGES, purge_id, digest, "")
        db.execute(
            "INSERT INTO purges (purge_id, cutoff, body, chain_seq) VALUES (?, ?, ?, ?)",
            (purge_id, cutoff_text, body, link.seq),
        )
        return done, (len(ids), decisions, alerts, folded), anchor

    def _fold_purged_prefix(
        self, db: Db, anchor: ChainPoint, head: ChainPoint, cutoff: str
    ) -> tuple[ChainPoint, int]:
        """Drop the links before the first live record; earlier purge events go with them
        (every purged link they covered lies before them).

        The chain was verified before the purge began; what is folded is checked
        again here, under the lock, so that nothing changed since is laundered into
        the anchor: the links chain from the anchor, and each is a purge event or a
        record this purge or an earlier one removed."""
        row = db.one(
            "SELECT MIN(seq) FROM audit_chain WHERE seq > ? AND purged = ? AND record_table <> ?",
            (anchor.seq, False, PURGES),
        )
        last = int(row[0]) - 1 if row and row[0] is not None else head.seq
        if last <= anchor.seq:
            return anchor, 0
        prev = anchor
        for r in db.all(
            "SELECT seq, record_table, record_id, record_digest, purge_key, prev_hash, hash,"
            " purged FROM audit_chain WHERE seq > ? AND seq <= ? ORDER BY seq",
            (anchor.seq, last),
        ):
            link = Link(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), str(r[6]))
            expected = chain.link_hash(
                prev.hash, link.seq, link.table, link.record_id, link.record_digest, link.purge_key
            )
            legitimate = link.table == PURGES or (bool(r[7]) and link.purge_key < cutoff)
            if link.seq != prev.seq + 1 or link.prev_hash != prev.hash or link.hash != expected:
                reason = "link changed while the purge ran"
            elif not legitimate:
                reason = "marked purged, but no purge covers it"
            else:
                prev = ChainPoint(link.seq, link.hash)
                continue
            broken = chain.BrokenLink(link.table, link.seq, link.record_id, reason)
            raise ChainBroken(chain.VerifyReport(anchor, prev, 0, 0, broken))
        if prev.seq != last:
            broken = chain.BrokenLink("audit_chain", prev.seq + 1, "", "link missing")
            raise ChainBroken(chain.VerifyReport(anchor, prev, 0, 0, broken))
        new_anchor = prev
        db.execute("DELETE FROM purges WHERE chain_seq <= ?", (last,))
        db.execute("DELETE FROM audit_chain WHERE seq > ? AND seq <= ?", (anchor.seq, last))
        db.execute(
            "UPDATE chain_state SET seq = ?, hash = ? WHERE name = 'anchor'",
            (new_anchor.seq, new_anchor.hash),
        )
        return new_anchor, last - anchor.seq


def _purge_event(seq: int, body: str) -> chain.PurgeEvent:
    try:
        o = json.loads(body)
        return chain.PurgeEvent(
            seq, str(o["cutoff"]), ChainPoint(int(o["anchor"]["seq"]), str(o["anchor"]["hash"]))
        )
    except (ValueError, KeyError, TypeError):
        # An unreadable event covers nothing; the walk reports its record as altered.
        return chain.PurgeEvent(seq, "", ChainPoint(-1, ""))


class _ScreeningBatch:
    """What the screenings of one transaction share.

    Lookups that nothing in the batch can change are read once for all of it, and
    the writes nothing in the batch reads back are gathered into a few statements at
    the end: the write lock is held for as short a time as the batch allows.
    """

    def __init__(self, store: SqlStore, db: Db, keys: Sequence[ScreeningKeys]) -> None:
        self.store = store
        self.db = db
        # Stored before the batch, then each save of the batch as it happens.
        self.existing = store._existing_many(db, [k.request_id for k in keys])
        self._postponed = store._postponed_trips(db, keys)
        # Staged assessments by trip: stored before the batch, then the batch's own.
        self.staged = store._staged_by_trip(db, keys)
        self.assessment_rows: list[tuple[Any, ...]] = []
        self.chain = _ChainAppender(store, db)

    def prior_postponements(self, keys: ScreeningKeys, windows: ContextWindows) -> int:
        span = _window(keys.departure_date, windows.postponement_window_days)
        trips = self._postponed.get((keys.traveller_key, keys.mode))
        if span is None or not trips:
            return 0
        return sum(1 for _, day in trips if span[0] <= day <= span[1])

    def flush(self) -> None:
        if self.assessment_rows:
            written = self.db.many(_INSERT_ASSESSMENT, self.assessment_rows)
            if written != len(self.assessment_rows):
                raise RequestIdRace("a request id of the batch")
        self.chain.flush()


class _ChainAppender:
    """Links appended in one transaction: the head is read once, and the links and
    the new head are written together by ``flush``."""

    def __init__(self, store: SqlStore, db: Db) -> None:
        self._store = store
        self._db = db
        self._links: list[Link] = []
        self._head: ChainPoint | None = None

    def append(self, table: str, record_id: str, digest: str, purge_key: str) -> Link:
        # The head is read (and locked) at the first append, not before: a batch of
        # replays appends nothing and leaves the head alone.
        head = self._head or self._store._chain_head(self._db)
        link = chain.next_link(head, table, record_id, digest, purge_key)
        self._head = ChainPoint(link.seq, link.hash)
        self._links.append(link)
        return link

    def flush(self) -> None:
        if not self._links:
            return
        self._db.many(_INSERT_LINK, [_link_row(link) for link in self._links])
        assert self._head is not None
        self._db.execute(
            "UPDATE chain_state SET seq = ?, hash = ? WHERE name = 'head'",
            (self._head.seq, self._head.hash),
        )
        self._links.clear()


class _SqlTransaction:
    def __init__(self, batch: _ScreeningBatch, keys: ScreeningKeys) -> None:
        self._batch = batch
        self._keys = keys
        self.alert: GroupAlert | None = None
        self._saved = False

    def existing(self) -> StoredAssessment | None:
        return self._batch.existing.get(self._keys.request_id)

    def history(self, watchlist: frozenset[str], windows: ContextWindows) -> HistoryContext:
        return self._batch.store._history(self._batch, self._keys, watchlist, windows)

    def superseded(self) -> str:
        return open_preliminary(self._batch.staged.get(self._keys.trip_key, ()))

    def save(
        self,
        assessment: Assessment,
        alert: GroupAlert | None,
        encoded: EncodedAssessment | None = None,
    ) -> None:
        if self._saved:
            raise RuntimeError("a screening transaction saves one assessment")
        self._batch.store._save(self._batch, self._keys, assessment, alert, encoded)
        self._saved = True
        self.alert = alert
