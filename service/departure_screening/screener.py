"""The screening pipeline, in the order data flows:

validated screening → keys and history from the store → facts → rules engine →
score and explanation → durable save → observers (metrics) → outcome.

Validation happens before this (at the API boundary); nothing here knows gRPC.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import Protocol

from departure_screening.context import HistoryContext
from departure_screening.domain import (
    Assessment,
    DecisionRecord,
    GroupAlert,
    GroupContext,
    Screening,
    ScreenOutcome,
)
from departure_screening.engine import RuleEngine
from departure_screening.errors import AlreadyExists, ScreeningError
from departure_screening.evaluation import evaluate
from departure_screening.pseudonym import Pseudonymizer
from departure_screening.ruleset import Ruleset
from departure_screening.store.base import ScreeningKeys, ScreeningTransaction, Store


class ScreeningObserver(Protocol):
    """Told of what the pipeline committed, e.g. to count it in metrics."""

    def assessed(self, assessment: Assessment) -> None: ...

    def decided(self, assessment: Assessment, decision: DecisionRecord) -> None: ...

    def alerted(self, alert: GroupAlert) -> None: ...


class NullObserver:
    def assessed(self, assessment: Assessment) -> None:
        return None

    def decided(self, assessment: Assessment, decision: DecisionRecord) -> None:
        return None

    def alerted(self, alert: GroupAlert) -> None:
        return None


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_assessment_id() -> str:
    return uuid.uuid4().hex


class Screener:
    def __init__(
        self,
        ruleset: Ruleset,
        store: Store,
        pseudonymizer: Pseudonymizer,
        observer: ScreeningObserver | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
        new_id: Callable[[], str] = new_assessment_id,
    ) -> None:
        self.ruleset = ruleset
        self.engine = RuleEngine(ruleset)
        self.store = store
        self._pseudo = pseudonymizer
        self._observer = observer or NullObserver()
        self._clock = clock
        self._new_id = new_id
        self._watchlist = frozenset(ruleset.lists.watchlist)

    def keys(self, s: Screening) -> ScreeningKeys:
        trip = s.trip
        escort_key = (
            self._pseudo.person(trip.escort_passport_number) if trip.escort_passport_number else ""
        )
        group_key = (
            "g-"
            + self._pseudo.digest(
                "group", s.mode, trip.flight_number, trip.departure_date.isoformat(), escort_key
            )[:24]
            if escort_key
            else ""
        )
        return ScreeningKeys(
            request_id=s.request_id,
            fingerprint=self.fingerprint(s),
            mode=s.mode,
            checkpoint=s.checkpoint,
            traveller_key=self._pseudo.person(s.traveller.passport_number),
            escort_key=escort_key,
            group_key=group_key,
            flight_number=trip.flight_number,
            departure_date=trip.departure_date,
            destination_country=trip.destination_country,
        )

    def fingerprint(self, s: Screening) -> str:
        """A keyed digest of the whole request: equal content, equal fingerprint.

        The repr of the frozen dataclasses names every field in a fixed order.
        """
        return self._pseudo.digest("request", repr(s))

    def screen(self, s: Screening) -> ScreenOutcome:
        (result,) = self.screen_batch([s])
        if isinstance(result, ScreeningError):
            raise result
        return result

    def screen_batch(self, items: Sequence[Screening]) -> list[ScreenOutcome | ScreeningError]:
        """Screen in order, in one store transaction: one durable commit for all.

        A conflict (ALREADY_EXISTS) is that item's result and the others go on; a
        store failure raises and acknowledges none of them.
        """
        keys = [self.keys(s) for s in items]
        results: list[ScreenOutcome | ScreeningError] = []
        with self.store.screenings(keys) as txs:
            for s, k, tx in zip(items, keys, txs, strict=True):
                try:
                    results.append(self._screen_in(tx, s, k))
                except AlreadyExists as conflict:
                    results.append(conflict)
        for result in results:  # committed: now they count
            if isinstance(result, ScreenOutcome) and not result.replayed:
                self._observer.assessed(result.assessment)
                for alert in result.alerts:
                    self._observer.alerted(alert)
        return results

    def _screen_in(
        self, tx: ScreeningTransaction, s: Screening, keys: ScreeningKeys
    ) -> ScreenOutcome:
        stored = tx.existing()
        if stored is not None:
            if stored.fingerprint != keys.fingerprint:
                raise AlreadyExists(
                    f"request_id {s.request_id!r} was already used for a different screening"
                )
            return ScreenOutcome(stored.assessment, replayed=True)
        history = tx.history(self._watchlist, self.ruleset.context)
        scored = evaluate(self.engine, s, history)
        now = self._clock()
        assessment = Assessment(
            assessment_id=self._new_id(),
            request_id=s.request_id,
            checkpoint=s.checkpoint,
            mode=s.mode,
            score=scored.score,
            band=scored.band,
            recommended_action=scored.recommended_action,
            indicators=scored.indicators,
            ruleset_version=self.ruleset.version,
            group=GroupContext(keys.group_key, history.group_members),
            assessed_at=now,
        )
        alert = self._group_alert(s, keys, history, now)
        tx.save(assessment, alert)
        return ScreenOutcome(assessment, alerts=(alert,) if alert else ())

    def _group_alert(
        self,
        s: Screening,
        keys: ScreeningKeys,
        history: HistoryContext,
        now: dt.datetime,
    ) -> GroupAlert | None:
        """Raised once, by the new member that brings the group to the threshold."""
        threshold = self.ruleset.context.group_alert_members
        if not keys.group_key or not history.new_member or history.group_members != threshold:
            return None
        return GroupAlert(
            checkpoint=s.checkpoint,
            mode=s.mode,
            group_key=keys.group_key,
            flight_number=s.trip.flight_number,
            departure_date=s.trip.departure_date,
            members_screened=history.group_members,
            earlier_assessment_ids=history.earlier_group_assessments,
            raised_at=now,
        )

    def record_decision(self, record: DecisionRecord) -> DecisionRecord:
        assessment = self.store.record_decision(record)
        self._observer.decided(assessment, record)
        return record

    def get_assessment(self, assessment_id: str) -> tuple[Assessment, list[DecisionRecord]]:
        return self.store.get_assessment(assessment_id)
