"""A store in memory: for tests of the rules and for trying the service out.

Nothing survives a restart; use SQLite or PostgreSQL for anything real. History
is indexed the way the SQL stores index it, so long exercises stay fast.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace

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
from departure_screening.store.alert_feed import ALERT_PAGE
from departure_screening.store.base import (
    EncodedAssessment,
    ScreeningKeys,
    StoredAssessment,
    StoredDecision,
    open_preliminary,
)


@dataclass
class _Row:
    keys: ScreeningKeys
    assessment: Assessment
    decisions: list[DecisionRecord] = field(default_factory=list)


class MemoryStore:
    def __init__(self, alerts: AlertHub | None = None) -> None:
        self.alerts = alerts or AlertHub()
        self._lock = threading.RLock()
        self._rows: list[_Row] = []
        # Decisions by request id, with their fingerprints.
        self._decisions: dict[str, tuple[str, StoredDecision]] = {}
        # Every alert raised, numbered from 1 in raise order.
        self._alerts: list[GroupAlert] = []
        # Shadow results by assessment id (see ``SqlStore.save_shadows``).
        self.shadows: dict[str, ShadowResult] = {}
        self._reindex()

    def _reindex(self) -> None:
        self._by_request: dict[str, _Row] = {}
        self._by_assessment: dict[str, _Row] = {}
        # (mode, group) → traveller → first assessment id, in screening order.
        self._groups: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
        self._by_escort: dict[tuple[str, str], list[_Row]] = defaultdict(list)
        self._by_traveller: dict[tuple[str, str], list[_Row]] = defaultdict(list)
        for row in self._rows:
            self._index(row)

    def _index(self, row: _Row) -> None:
        k = row.keys
        self._by_request[k.request_id] = row
        self._by_assessment[row.assessment.assessment_id] = row
        if k.group_key and k.traveller_key != k.escort_key:
            self._groups[(k.mode, k.group_key)].setdefault(
                k.traveller_key, row.assessment.assessment_id
            )
        if k.escort_key:
            self._by_escort[(k.mode, k.escort_key)].append(row)
        self._by_traveller[(k.mode, k.traveller_key)].append(row)

    @contextmanager
    def screening(self, keys: ScreeningKeys) -> Iterator[_MemoryTransaction]:
        with self.screenings([keys]) as (tx,):
            yield tx

    def encode(self, keys: ScreeningKeys, assessment: Assessment) -> EncodedAssessment | None:
        return None  # kept as objects: nothing to encode

    @contextmanager
    def screenings(self, keys: Sequence[ScreeningKeys]) -> Iterator[list[_MemoryTransaction]]:
        with self._lock:
            mark = len(self._rows)
            txs = [_MemoryTransaction(self, k) for k in keys]
            try:
                yield txs
            except BaseException:
                del self._rows[mark:]  # nothing of a failed transaction stays
                self._reindex()
                raise
            # Numbered and published under the lock, so watchers get them in id order
            # (publishing never waits).
            for tx in txs:
                if tx.alert is not None:
                    alert = replace(tx.alert, alert_id=len(self._alerts) + 1)
                    self._alerts.append(alert)
                    self.alerts.publish(alert)

    def alerts_after(
        self,
        after: int,
        *,
        checkpoint: str | None = None,
        mode: str | None = None,
        limit: int = ALERT_PAGE,
    ) -> list[GroupAlert]:
        with self._lock:
            later = self._alerts[max(after, 0) :]
        return [
            a
            for a in later
            if (checkpoint is None or a.checkpoint == checkpoint)
            and (mode is None or a.mode == mode)
        ][:limit]

    def _save(self, keys: ScreeningKeys, assessment: Assessment) -> None:
        row = _Row(keys, assessment)
        self._rows.append(row)
        self._index(row)

    def record_decision(self, record: DecisionRecord) -> Assessment:
        return self.decide(record, "").assessment

    def decide(self, record: DecisionRecord, fingerprint: str) -> StoredDecision:
        with self._lock:
            earlier = self._decisions.get(record.request_id) if record.request_id else None
            if earlier is not None:
                return _replay(earlier, fingerprint, record.request_id)
            row = self._by_assessment.get(record.assessment_id)
            if row is None:
                raise NotFound(f"no assessment {record.assessment_id!r}")
            row.decisions.append(record)
            stored = StoredDecision(row.assessment, record)
            if record.request_id:
                self._decisions[record.request_id] = (fingerprint, stored)
            return stored

    def get_assessment(self, assessment_id: str) -> tuple[Assessment, list[DecisionRecord]]:
        with self._lock:
            row = self._by_assessment.get(assessment_id)
            if row is None:
                raise NotFound(f"no assessment {assessment_id!r}")
            return row.assessment, list(row.decisions)

    def save_shadows(self, results: Sequence[ShadowResult]) -> None:
        with self._lock:
            for r in results:
                if r.assessment_id in self._by_assessment:
                    self.shadows.setdefault(r.assessment_id, r)

    def write_gate(self) -> AbstractContextManager[None]:
        return nullcontext()

    def check(self) -> None:
        return None

    def close(self) -> None:
        return None

    def _history(
        self, keys: ScreeningKeys, watchlist: frozenset[str], windows: ContextWindows
    ) -> HistoryContext:
        members = self._groups.get((keys.mode, keys.group_key), {}) if keys.group_key else {}
        earlier = tuple(a for t, a in members.items() if t != keys.traveller_key)
        new_member = keys.traveller_key not in members
        # The escort is not a member of the group they lead.
        joins = bool(keys.group_key) and keys.traveller_key != keys.escort_key and new_member
        escort_rows = (
            self._by_escort.get((keys.mode, keys.escort_key), ()) if keys.escort_key else ()
        )
        own_rows = self._by_traveller.get((keys.mode, keys.traveller_key), ())
        return HistoryContext(
            group_members=len(members) + (1 if joins else 0),
            earlier_group_assessments=earlier,
            new_member=new_member,
            escort_watchlist_trips=len(
                {
                    (r.keys.flight_number, r.keys.departure_date)
                    for r in escort_rows
                    if r.keys.destination_country in watchlist
                    and _within(
                        r.keys.departure_date, keys.departure_date, windows.escort_window_days
                    )
                }
            ),
            prior_postponements=len(
                {
                    (r.keys.flight_number, r.keys.departure_date)
                    for r in own_rows
                    if _within(
                        r.keys.departure_date, keys.departure_date, windows.postponement_window_days
                    )
                    and any(d.decision in POSTPONING_DECISIONS for d in r.decisions)
                }
            ),
        )


def _replay(
    earlier: tuple[str, StoredDecision], fingerprint: str, request_id: str
) -> StoredDecision:
    stored_fingerprint, stored = earlier
    if stored_fingerprint != fingerprint:
        raise AlreadyExists(f"request_id {request_id!r} was already used for a different decision")
    return StoredDecision(stored.assessment, stored.decision, replayed=True)


def _within(earlier: dt.date, departure: dt.date, days: int) -> bool:
    """Departure 1 to ``days`` days before: the same day is not earlier."""
    return 1 <= (departure - earlier).days <= days


class _MemoryTransaction:
    def __init__(self, store: MemoryStore, keys: ScreeningKeys) -> None:
        self._store = store
        self._keys = keys
        self.alert: GroupAlert | None = None

    def existing(self) -> StoredAssessment | None:
        row = self._store._by_request.get(self._keys.request_id)
        return StoredAssessment(row.assessment, row.keys.fingerprint) if row else None

    def history(self, watchlist: frozenset[str], windows: ContextWindows) -> HistoryContext:
        return self._store._history(self._keys, watchlist, windows)

    def superseded(self) -> str:
        k = self._keys
        rows = self._store._by_traveller.get((k.mode, k.traveller_key), ())
        return open_preliminary([r.assessment for r in rows if r.keys.trip_key == k.trip_key])

    def save(
        self,
        assessment: Assessment,
        alert: GroupAlert | None,
        encoded: EncodedAssessment | None = None,
    ) -> None:
        # Visible at once to the screenings after it in the same transaction.
        self._store._save(self._keys, assessment)
        self.alert = alert
