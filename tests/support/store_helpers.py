"""Screening keys and assessments for store tests, built directly (no rules engine).

``screen`` drives a store the way ``Screener.screen`` does: existing → history →
save, with the group alert raised by the new member reaching the threshold.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass, field

from departure_screening.domain import (
    Assessment,
    DecisionRecord,
    FiredIndicator,
    GroupAlert,
    GroupContext,
)
from departure_screening.pipeline.screener import group_alert
from departure_screening.privacy.pseudonym import Pseudonymizer
from departure_screening.screening.alerts import AlertHub
from departure_screening.screening.context import HistoryContext
from departure_screening.screening.ruleset import ContextWindows
from departure_screening.store.base import ScreeningKeys, Store
from departure_screening.store.factory import open_store

PSEUDO = Pseudonymizer(b"store-tests-key-" * 2)
WINDOWS = ContextWindows(escort_window_days=90, postponement_window_days=365, group_alert_members=3)
WATCHLIST = frozenset({"KH", "MM", "LA", "PH", "TH"})
DAY = dt.date(2026, 3, 1)
T0 = dt.datetime(2026, 2, 27, 8, 30, 0, 123456, tzinfo=dt.UTC)

_requests = itertools.count(1)


def person(passport: str) -> str:
    return PSEUDO.person(passport)


def keys(
    passport: str = "A1000001",
    *,
    request_id: str | None = None,
    escort: str = "",
    flight: str = "GA820",
    date: dt.date = DAY,
    dest: str = "KH",
    mode: str = "MODE_LIVE",
    checkpoint: str = "CGK",
    fingerprint: str | None = None,
) -> ScreeningKeys:
    escort_key = person(escort) if escort else ""
    group_key = (
        "g-" + PSEUDO.digest("group", mode, flight, date.isoformat(), escort_key)[:24]
        if escort_key
        else ""
    )
    rid = request_id or f"req-{next(_requests)}-{uuid.uuid4().hex[:6]}"
    return ScreeningKeys(
        request_id=rid,
        fingerprint=fingerprint or PSEUDO.digest("request", rid, passport, flight, str(date)),
        mode=mode,
        checkpoint=checkpoint,
        traveller_key=person(passport),
        escort_key=escort_key,
        group_key=group_key,
        flight_number=flight,
        departure_date=date,
        destination_country=dest,
    )


def assessment(
    k: ScreeningKeys,
    *,
    assessment_id: str | None = None,
    members: int = 0,
    at: dt.datetime = T0,
    score: int = 45,
) -> Assessment:
    return Assessment(
        assessment_id=assessment_id or uuid.uuid4().hex,
        request_id=k.request_id,
        checkpoint=k.checkpoint,
        mode=k.mode,
        score=score,
        band="RISK_BAND_ELEVATED",
        recommended_action="ACTION_SECONDARY_INTERVIEW",
        indicators=(
            FiredIndicator(
                code="DESTINATION_WATCHLIST",
                weight=20,
                title="Destination on the watch-list",
                title_id="Tujuan dalam daftar pantauan",
                legal_basis=("IMI-GR.01.01-1029/2017", "UU 21/2007 (TPPO)"),
                evidence={"destination_country": k.destination_country, "passport": "*****001"},
                remedy="itinerary, accommodation booking and return ticket — “tiket pulang”",
            ),
            FiredIndicator(
                code="LICENSED_TOUR_GROUP",
                weight=-15,
                title="Licensed tour group",
                title_id="Rombongan tur berizin",
                legal_basis=(),
                evidence={},
                remedy="",
            ),
        ),
        ruleset_version="imi-gr-1029-2017@1+abcdef123456",
        group=GroupContext(k.group_key, members),
        assessed_at=at,
    )


@dataclass(frozen=True)
class Screened:
    assessment: Assessment
    history: HistoryContext | None
    alert: GroupAlert | None
    replayed: bool


def screen(
    store: Store,
    k: ScreeningKeys,
    *,
    at: dt.datetime = T0,
    assessment_id: str | None = None,
    windows: ContextWindows = WINDOWS,
    watchlist: frozenset[str] = WATCHLIST,
) -> Screened:
    with store.screening(k) as tx:
        stored = tx.existing()
        if stored is not None:
            assert stored.fingerprint == k.fingerprint, "fingerprint mismatch"
            return Screened(stored.assessment, None, None, True)
        h = tx.history(watchlist, windows)
        a = assessment(k, assessment_id=assessment_id, members=h.group_members, at=at)
        alert = group_alert(k, h, windows.group_alert_members, at)
        tx.save(a, alert)
    return Screened(a, h, alert, False)


def raise_group_alert(store: Store, escort: str) -> GroupAlert:
    """Screen three members of a new group: the third raises its alert."""
    for n in range(3):
        s = screen(store, keys(f"{escort}-m{n}", escort=escort))
    assert s.alert is not None
    return s.alert


def decide(
    store: Store,
    assessment_id: str,
    decision: str,
    *,
    note: str = "",
    at: dt.datetime = T0,
) -> DecisionRecord:
    record = DecisionRecord(assessment_id, decision, "officer-7", note, at)
    store.record_decision(record)
    return record


@dataclass
class StoreKit:
    """Opens stores on one location; ``open()`` again is a restart or a second replica."""

    kind: str
    url: str
    opened: list[Store] = field(default_factory=list)

    @property
    def durable(self) -> bool:
        return self.kind != "memory"

    def open(self, alerts: AlertHub | None = None) -> Store:
        store = open_store(self.url, alerts)
        self.opened.append(store)
        return store

    def close_all(self) -> None:
        for store in self.opened:
            store.close()
        self.opened.clear()
