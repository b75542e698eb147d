"""The store interface: the audit trail, idempotency, and history for the rules.

A screening runs inside ``Store.screening(keys)``: the transaction finds an
earlier assessment with the same request id, reads the history the rules need,
and saves the new assessment. Whatever the backend, what happens inside one
transaction is isolated from concurrent screenings of the same group.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from departure_screening.domain import Assessment, DecisionRecord, GroupAlert
from departure_screening.errors import StoreUnavailable
from departure_screening.screening.alerts import AlertHub
from departure_screening.screening.context import HistoryContext
from departure_screening.screening.ruleset import ContextWindows
from departure_screening.screening.shadow import ShadowResult


@dataclass(frozen=True, slots=True)
class ScreeningKeys:
    """What the store needs of a screening: no personal number in clear."""

    request_id: str
    fingerprint: str
    mode: str
    checkpoint: str
    traveller_key: str
    escort_key: str  # "" without escort
    group_key: str  # "" without escort
    flight_number: str
    departure_date: dt.date
    destination_country: str
    # A preliminary screening supersedes nothing; a counter one looks for one to supersede.
    preliminary: bool = False

    @property
    def trip_key(self) -> TripKey:
        """One traveller on one flight and date, in one mode."""
        return (self.traveller_key, self.mode, self.flight_number, self.departure_date)


# (traveller key, mode, flight number, departure date)
TripKey = tuple[str, str, str, dt.date]


@dataclass(frozen=True, slots=True)
class ReplayQuery:
    """Which stored assessments a replay reads: departure dates inclusive, None for all."""

    since: dt.date | None = None
    until: dt.date | None = None
    checkpoint: str | None = None
    mode: str | None = None


@dataclass(frozen=True, slots=True)
class ReplayRecord:
    assessment: Assessment
    departure_date: dt.date
    decision: str | None  # the last recorded decision, if any


def open_preliminary(assessments: Sequence[Assessment]) -> str:
    """Of one traveller's assessments on one flight and date, in screening order: the
    latest preliminary one that no counter assessment supersedes, else ""."""
    open_ids: list[str] = []
    for a in assessments:
        if a.preliminary:
            open_ids.append(a.assessment_id)
        elif a.supersedes in open_ids:
            open_ids.remove(a.supersedes)
    return open_ids[-1] if open_ids else ""


@dataclass(frozen=True, slots=True)
class ShadowReplayRecord:
    assessment: Assessment
    departure_date: dt.date
    decision: str | None
    shadow: ShadowResult | None  # None when no shadow ruleset judged it


@dataclass(frozen=True, slots=True)
class StoredAssessment:
    assessment: Assessment
    fingerprint: str


@dataclass(frozen=True, slots=True)
class EncodedAssessment:
    """An assessment in the form a store writes it, made before the write lock.

    A store uses it only for the very assessment object it was made from, so an
    assessment rebuilt under the lock (with history, or superseding a preliminary
    one) is encoded again there.
    """

    assessment: Assessment
    assessed_text: str
    body: str
    digest: str


class RequestIdRace(StoreUnavailable):
    """Another transaction committed one of the batch's request ids after this one
    looked: this one was rolled back, and run again it finds that assessment. Left
    unretried it is UNAVAILABLE, which a client retries."""

    def __init__(self, request_id: str) -> None:
        super().__init__(f"request id {request_id} was committed concurrently; retry")


@dataclass(frozen=True, slots=True)
class StoredDecision:
    """A decision as stored, with its assessment; ``replayed`` for a retry's."""

    assessment: Assessment
    decision: DecisionRecord
    replayed: bool = False


class ScreeningTransaction(Protocol):
    def existing(self) -> StoredAssessment | None:
        """The assessment already stored under this request id, if any."""

    def history(self, watchlist: frozenset[str], windows: ContextWindows) -> HistoryContext:
        """Group and history counts for this screening, this one included in its group."""

    def superseded(self) -> str:
        """For a counter screening: the id of this traveller's latest preliminary assessment
        on this flight and date that no counter assessment supersedes yet, else ""."""

    def save(
        self,
        assessment: Assessment,
        alert: GroupAlert | None,
        encoded: EncodedAssessment | None = None,
    ) -> None:
        """Stage the assessment (and the alert it raises); durable when the block exits.

        ``encoded``: the store's ``encode`` of this assessment, made earlier."""


class Store(Protocol):
    alerts: AlertHub

    def screening(self, keys: ScreeningKeys) -> AbstractContextManager[ScreeningTransaction]:
        """A transaction for one screening; committed durably on normal exit."""

    def screenings(
        self, keys: Sequence[ScreeningKeys]
    ) -> AbstractContextManager[Sequence[ScreeningTransaction]]:
        """One transaction, and one durable commit, for several screenings.

        The caller works through them in order; each sees what the ones before it
        saved (a group growing within one manifest).
        """

    def encode(self, keys: ScreeningKeys, assessment: Assessment) -> EncodedAssessment | None:
        """The assessment as this store will write it (body, digest), made outside the
        write lock so that less of a commit is spent holding it; None for a store that
        writes no encoded form."""

    def write_gate(self) -> AbstractContextManager[None]:
        """Held by a commit queue's leader around taking and running a batch.

        A store whose writers queue on one lock (SQLite) takes it here, so the batch
        grows while it waits; others give a no-op.
        """

    def record_decision(self, record: DecisionRecord) -> Assessment:
        """Append a decision; return its assessment. Raises NotFound."""

    def decide(self, record: DecisionRecord, fingerprint: str) -> StoredDecision:
        """Append a decision unless one with its request id is stored already.

        Same request id and fingerprint: the stored decision, replayed. Same request
        id, other fingerprint: AlreadyExists. No request id: always appended.
        Raises NotFound."""

    def get_assessment(self, assessment_id: str) -> tuple[Assessment, list[DecisionRecord]]:
        """An assessment and its decisions in recorded order. Raises NotFound."""

    def alerts_after(
        self,
        after: int,
        *,
        checkpoint: str | None = None,
        mode: str | None = None,
        limit: int = ...,
    ) -> list[GroupAlert]:
        """Stored alerts with an id past ``after`` (of a checkpoint and mode, when
        given), oldest first, at most ``limit``; each carries its ``alert_id``."""

    def save_shadows(self, results: Sequence[ShadowResult]) -> None:
        """Store shadow results beside their assessments (chained where there is a chain).

        Never read back by the service's API: only ``rules shadow-report`` reads them."""

    def check(self) -> None:
        """Raise StoreUnavailable when the store cannot be used."""

    def close(self) -> None: ...
