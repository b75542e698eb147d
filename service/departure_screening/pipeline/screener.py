"""The screening pipeline, in the order data flows:

validated screening → keys and history from the store → facts → rules engine →
score and explanation → durable save → observers (metrics) → outcome.

Validation happens before this (at the API boundary); nothing here knows gRPC.

Concurrent callers share durable commits (``batching.CommitQueue``). What does
not need the store's write lock is done before it, in the caller's own thread:
the keys, and for a traveller without a group the whole evaluation and the
assessment in the form the store writes it, made on the assumption of no history.
Inside the lock the store says whether that assumption holds (it does unless the
traveller was postponed before, or screened from a manifest first); when it does
not, the screening is evaluated again there with its real history.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from departure_screening.domain import (
    Assessment,
    DecisionRecord,
    GroupAlert,
    GroupContext,
    Screening,
    ScreenOutcome,
)
from departure_screening.errors import AlreadyExists, DeadlineExpired, ScreeningError
from departure_screening.ids import IdSource
from departure_screening.pipeline import fingerprint
from departure_screening.pipeline.batching import DEFAULT_MAX_CALLERS, CommitQueue
from departure_screening.privacy.pseudonym import Pseudonymizer
from departure_screening.screening.context import HistoryContext
from departure_screening.screening.engine import RuleEngine
from departure_screening.screening.evaluation import evaluate
from departure_screening.screening.policy import Policy, PolicyHolder
from departure_screening.screening.ruleset import Ruleset
from departure_screening.screening.scoring import Scored
from departure_screening.store.base import (
    EncodedAssessment,
    RequestIdRace,
    ScreeningKeys,
    ScreeningTransaction,
    Store,
)


class ScreeningObserver(Protocol):
    """Told of what the pipeline committed, e.g. to count it in metrics."""

    def assessed(self, assessment: Assessment) -> None: ...

    def decided(self, assessment: Assessment, decision: DecisionRecord) -> None: ...

    def alerted(self, alert: GroupAlert) -> None: ...

    def queue_depth(self, change: int) -> None:
        """Callers in the commit queue went up (+1) or down (-1)."""


class NullObserver:
    def assessed(self, assessment: Assessment) -> None:
        return None

    def decided(self, assessment: Assessment, decision: DecisionRecord) -> None:
        return None

    def alerted(self, alert: GroupAlert) -> None:
        return None

    def queue_depth(self, change: int) -> None:
        return None


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


new_assessment_id = IdSource()


Result = ScreenOutcome | ScreeningError
# What a traveller without a group learns from the store in the usual case.
NO_HISTORY = HistoryContext()


def group_alert(
    keys: ScreeningKeys, history: HistoryContext, threshold: int, at: dt.datetime
) -> GroupAlert | None:
    """Raised once, by the new member that brings the group to the threshold."""
    if not keys.group_key or not history.new_member or history.group_members != threshold:
        return None
    return GroupAlert(
        checkpoint=keys.checkpoint,
        mode=keys.mode,
        group_key=keys.group_key,
        flight_number=keys.flight_number,
        departure_date=keys.departure_date,
        members_screened=history.group_members,
        earlier_assessment_ids=history.earlier_group_assessments,
        raised_at=at,
    )


def _assessment(
    s: Screening,
    keys: ScreeningKeys,
    assessment_id: str,
    at: dt.datetime,
    policy: Policy,
    scored: Scored,
    history: HistoryContext,
    supersedes: str = "",
) -> Assessment:
    return Assessment(
        assessment_id=assessment_id,
        request_id=s.request_id,
        checkpoint=s.checkpoint,
        mode=s.mode,
        score=scored.score,
        band=scored.band,
        recommended_action=scored.recommended_action,
        indicators=scored.indicators,
        ruleset_version=policy.ruleset.version,
        group=GroupContext(keys.group_key, history.group_members),
        assessed_at=at,
        facts=scored.facts,
        screened_by=s.screened_by,
        stage=s.stage,
        not_evaluated=scored.not_evaluated,
        supersedes=supersedes,
    )


@dataclass(frozen=True, slots=True)
class _Prepared:
    screening: Screening
    keys: ScreeningKeys
    assessment_id: str
    at: dt.datetime
    # For a screening without a group: its assessment on the assumption of no history
    # and nothing to supersede, and that assessment encoded for the store.
    provisional: Assessment | None
    encoded: EncodedAssessment | None
    # The ruleset version this screening is evaluated and recorded with, from start to end.
    policy: Policy


class Screener:
    def __init__(
        self,
        ruleset: Ruleset,
        store: Store,
        pseudonymizer: Pseudonymizer,
        observer: ScreeningObserver | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
        new_id: Callable[[], str] = new_assessment_id,
        max_queued: int = DEFAULT_MAX_CALLERS,
    ) -> None:
        """``max_queued``: callers (a screening, a manifest's chunk) let into the
        commit queue at once; more are refused with ``Overloaded``."""
        self._policies = PolicyHolder(ruleset)
        self.store = store
        self._pseudo = pseudonymizer
        self._observer = observer or NullObserver()
        self._clock = clock
        self._new_id = new_id
        self._commits: CommitQueue[_Prepared, Result] = CommitQueue(
            self._commit,
            gate=store.write_gate,
            max_callers=max_queued,
            on_depth=self._observer.queue_depth,
        )

    @property
    def ruleset(self) -> Ruleset:
        """The ruleset new screenings are evaluated on."""
        return self._policies.current.ruleset

    @property
    def engine(self) -> RuleEngine:
        return self._policies.current.engine

    def use_ruleset(self, ruleset: Ruleset) -> None:
        """Evaluate new screenings on ``ruleset``; those under way finish on theirs."""
        self._policies.swap(ruleset)

    def close(self) -> None:
        self._policies.close()

    def commits_ok(self) -> bool:
        """False while screenings cannot be committed: the latest batch failed and an
        empty one, through the same gate and store, fails too."""
        return not self._commits.last_failed or self._commits.probe()

    def keys(self, s: Screening) -> ScreeningKeys:
        trip = s.trip
        # Airline data names no escort: a preliminary screening joins no group.
        escort = "" if s.preliminary else trip.escort_passport_number
        escort_key = self._pseudo.person(escort) if escort else ""
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
            preliminary=s.preliminary,
        )

    def fingerprint(self, s: Screening) -> str:
        """A keyed digest of the whole request: equal content, equal fingerprint."""
        return fingerprint.screening_fingerprint(self._pseudo, s)

    @property
    def max_queued(self) -> int:
        return self._commits.max_callers

    def screen(self, s: Screening, deadline: float | None = None) -> ScreenOutcome:
        (result,) = self.screen_many([s], deadline)
        if isinstance(result, ScreeningError):
            raise result
        return result

    def screen_many(
        self, items: Sequence[Screening], deadline: float | None = None
    ) -> list[Result]:
        """Screen in order, sharing one durable commit with concurrent callers.

        A conflict (ALREADY_EXISTS) is that item's result and the others go on; a
        store failure raises and acknowledges none of them. With the commit queue
        full, ``Overloaded`` is raised before anything is done; with ``deadline``
        (``time.monotonic()``) passed before the commit, ``DeadlineExpired``.
        """
        if deadline is not None and deadline <= time.monotonic():
            raise DeadlineExpired("the deadline passed before the screening began")
        prepared: list[_Prepared] = []
        with self._commits.place():
            try:
                for s in items:
                    prepared.append(self._prepare(s))
                results = self._commits.submit(prepared, deadline)
            finally:
                for p in prepared:
                    self._policies.release(p.policy)
        for result in results:  # committed: now they count
            if isinstance(result, ScreenOutcome) and not result.replayed:
                self._observer.assessed(result.assessment)
                for alert in result.alerts:
                    self._observer.alerted(alert)
        return results

    def _prepare(self, s: Screening) -> _Prepared:
        keys = self.keys(s)
        assessment_id, at = self._new_id(), self._clock()
        policy = self._policies.acquire()
        provisional, encoded = None, None
        try:
            if not keys.group_key:
                scored = evaluate(policy.engine, s, NO_HISTORY)
                provisional = _assessment(s, keys, assessment_id, at, policy, scored, NO_HISTORY)
                encoded = self.store.encode(keys, provisional)
        except BaseException:
            self._policies.release(policy)
            raise
        return _Prepared(s, keys, assessment_id, at, provisional, encoded, policy)

    def _commit(self, items: Sequence[_Prepared]) -> list[Result]:
        """One store transaction for the batch: one durable commit for all.

        A retry racing its original on another replica is found when the assessment
        is written; the batch then runs once more and finds the original's."""
        try:
            return self._commit_once(items)
        except RequestIdRace:
            return self._commit_once(items)

    def _commit_once(self, items: Sequence[_Prepared]) -> list[Result]:
        results: list[Result] = []
        with self.store.screenings([p.keys for p in items]) as txs:
            for p, tx in zip(items, txs, strict=True):
                try:
                    results.append(self._screen_in(tx, p))
                except AlreadyExists as conflict:
                    results.append(conflict)
        return results

    def _screen_in(self, tx: ScreeningTransaction, p: _Prepared) -> ScreenOutcome:
        s, keys = p.screening, p.keys
        stored = tx.existing()
        if stored is not None:
            if stored.fingerprint != keys.fingerprint and not fingerprint.same_screening(
                self._pseudo, stored.fingerprint, s
            ):
                raise AlreadyExists(
                    f"request_id {s.request_id!r} was already used for a different screening"
                )
            return ScreenOutcome(stored.assessment, replayed=True)
        policy = p.policy
        history = tx.history(policy.watchlist, policy.ruleset.context)
        # The counter screening replaces the preliminary one: groups, history and
        # metrics count the traveller once.
        supersedes = "" if s.preliminary else tx.superseded()
        if p.provisional is not None and history == NO_HISTORY:
            if not supersedes:
                # The usual case: assessed and encoded before the lock.
                tx.save(p.provisional, None, p.encoded)
                return ScreenOutcome(p.provisional)
            assessment = replace(p.provisional, supersedes=supersedes)
        else:
            scored = evaluate(policy.engine, s, history)
            assessment = _assessment(
                s, keys, p.assessment_id, p.at, policy, scored, history, supersedes
            )
        alert = group_alert(keys, history, policy.ruleset.context.group_alert_members, p.at)
        tx.save(assessment, alert)
        return ScreenOutcome(assessment, alerts=(alert,) if alert else ())

    def record_decision(self, record: DecisionRecord) -> DecisionRecord:
        """The decision as stored: a retry (same request id and content) gets the one
        stored before and counts once; other content raises AlreadyExists."""
        decision_print = (
            fingerprint.decision_fingerprint(self._pseudo, record.request_id, record)
            if record.request_id
            else ""
        )
        stored = self.store.decide(record, decision_print)
        if not stored.replayed:
            self._observer.decided(stored.assessment, stored.decision)
        return stored.decision

    def get_assessment(self, assessment_id: str) -> tuple[Assessment, list[DecisionRecord]]:
        return self.store.get_assessment(assessment_id)
