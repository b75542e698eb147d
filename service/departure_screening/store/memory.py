"""A store in memory: for tests of the rules and for trying the service out.

Nothing survives a restart; use SQLite or PostgreSQL for anything real.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from departure_screening.alerts import AlertHub
from departure_screening.context import HistoryContext
from departure_screening.domain import (
    POSTPONING_DECISIONS,
    Assessment,
    DecisionRecord,
    GroupAlert,
)
from departure_screening.errors import NotFound
from departure_screening.ruleset import ContextWindows
from departure_screening.store.base import ScreeningKeys, StoredAssessment


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
        self._by_request: dict[str, _Row] = {}
        self._by_assessment: dict[str, _Row] = {}

    @contextmanager
    def screening(self, keys: ScreeningKeys) -> Iterator[_MemoryTransaction]:
        with self._lock:
            tx = _MemoryTransaction(self, keys)
            yield tx
            if tx.staged is not None:
                row = _Row(keys, tx.staged)
                self._rows.append(row)
                self._by_request[keys.request_id] = row
                self._by_assessment[tx.staged.assessment_id] = row
        if tx.alert is not None:
            self.alerts.publish(tx.alert)

    def record_decision(self, record: DecisionRecord) -> Assessment:
        with self._lock:
            row = self._by_assessment.get(record.assessment_id)
            if row is None:
                raise NotFound(f"no assessment {record.assessment_id!r}")
            row.decisions.append(record)
            return row.assessment

    def get_assessment(self, assessment_id: str) -> tuple[Assessment, list[DecisionRecord]]:
        with self._lock:
            row = self._by_assessment.get(assessment_id)
            if row is None:
                raise NotFound(f"no assessment {assessment_id!r}")
            return row.assessment, list(row.decisions)

    def check(self) -> None:
        return None

    def close(self) -> None:
        return None

    def _history(
        self, keys: ScreeningKeys, watchlist: frozenset[str], windows: ContextWindows
    ) -> HistoryContext:
        same_mode = [r for r in self._rows if r.keys.mode == keys.mode]
        members: dict[str, str] = {}
        if keys.group_key:
            for r in same_mode:
                k = r.keys
                if k.group_key == keys.group_key and k.traveller_key != keys.escort_key:
                    members.setdefault(k.traveller_key, r.assessment.assessment_id)
        earlier = tuple(a for t, a in members.items() if t != keys.traveller_key)
        new_member = keys.traveller_key not in members
        if keys.group_key and keys.traveller_key != keys.escort_key:
            members.setdefault(keys.traveller_key, "")
        return HistoryContext(
            group_members=len(members),
            earlier_group_assessments=earlier,
            new_member=new_member,
            escort_watchlist_trips=len(
                {
                    (r.keys.flight_number, r.keys.departure_date)
                    for r in same_mode
                    if keys.escort_key
                    and r.keys.escort_key == keys.escort_key
                    and r.keys.destination_country in watchlist
                    and _within(
                        r.keys.departure_date, keys.departure_date, windows.escort_window_days
                    )
                }
            ),
            prior_postponements=len(
                {
                    (r.keys.flight_number, r.keys.departure_date)
                    for r in same_mode
                    if r.keys.traveller_key == keys.traveller_key
                    and _within(
                        r.keys.departure_date, keys.departure_date, windows.postponement_window_days
                    )
                    and any(d.decision in POSTPONING_DECISIONS for d in r.decisions)
                }
            ),
        )


def _within(earlier: dt.date, departure: dt.date, days: int) -> bool:
    """Departure 1 to ``days`` days before: the same day is not earlier."""
    return 1 <= (departure - earlier).days <= days


class _MemoryTransaction:
    def __init__(self, store: MemoryStore, keys: ScreeningKeys) -> None:
        self._store = store
        self._keys = keys
        self.staged: Assessment | None = None
        self.alert: GroupAlert | None = None

    def existing(self) -> StoredAssessment | None:
        row = self._store._by_request.get(self._keys.request_id)
        return StoredAssessment(row.assessment, row.keys.fingerprint) if row else None

    def history(self, watchlist: frozenset[str], windows: ContextWindows) -> HistoryContext:
        return self._store._history(self._keys, watchlist, windows)

    def save(self, assessment: Assessment, alert: GroupAlert | None) -> None:
        self.staged, self.alert = assessment, alert
