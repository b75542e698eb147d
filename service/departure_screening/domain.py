"""The screening domain: plain values that know nothing of gRPC, storage or the engine.

Enum-like fields hold the contract's value names (``"PURPOSE_WORK"``), so the
rules, the store and the API all speak one vocabulary.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MODE_LIVE = "MODE_LIVE"
# A counter screening has the traveller in front of the officer; a preliminary one
# comes from the airline's passenger list before departure (see ``PRELIMINARY_LACKS``).
STAGE_COUNTER = "STAGE_COUNTER"
STAGE_PRELIMINARY = "STAGE_PRELIMINARY"
STAGES = (STAGE_COUNTER, STAGE_PRELIMINARY)
MODE_TRAINING = "MODE_TRAINING"
MODES = (MODE_LIVE, MODE_TRAINING)

PURPOSES = (
    "PURPOSE_TOURISM",
    "PURPOSE_FAMILY_VISIT",
    "PURPOSE_BUSINESS",
    "PURPOSE_WORK",
    "PURPOSE_STUDY",
    "PURPOSE_PILGRIMAGE",
    "PURPOSE_OTHER",
)
VISA_TYPES = (
    "VISA_TYPE_VISA_EXEMPT",
    "VISA_TYPE_TOURIST",
    "VISA_TYPE_VISA_ON_ARRIVAL",
    "VISA_TYPE_BUSINESS",
    "VISA_TYPE_WORK",
    "VISA_TYPE_STUDENT",
    "VISA_TYPE_PILGRIMAGE",
)
OBSERVATIONS = (
    "OBSERVATION_UNABLE_TO_EXPLAIN_PURPOSE",
    "OBSERVATION_INCONSISTENT_ANSWERS",
    "OBSERVATION_CARRIES_JOB_OFFER",
    "OBSERVATION_ACCOMPANIED_BY_RECRUITER",
)
BANDS = ("RISK_BAND_LOW", "RISK_BAND_ELEVATED", "RISK_BAND_HIGH")
ACTIONS = (
    "ACTION_PROCEED",
    "ACTION_SECONDARY_INTERVIEW",
    "ACTION_POSTPONE_PENDING_VERIFICATION",
)
DECISIONS = (
    "DECISION_CLEARED",
    "DECISION_CLEARED_AFTER_INTERVIEW",
    "DECISION_POSTPONED",
    "DECISION_REFERRED",
)
# The inputs an indicator may need (``needs`` in the ruleset) that a screening can lack.
INPUT_DECLARATION = "declaration"
INPUT_OBSERVATIONS = "observations"
INPUT_RETURN_TICKET = "trip.has_return_ticket"
INPUT_ESCORT = "trip.escort_passport_number"
INPUT_TOUR_OPERATOR_LICENSE = "trip.tour_operator_license"
INPUT_PASSPORT_ISSUE_DATE = "traveller.passport_issue_date"
INPUTS = (
    INPUT_DECLARATION,
    INPUT_OBSERVATIONS,
    INPUT_RETURN_TICKET,
    INPUT_ESCORT,
    INPUT_TOUR_OPERATOR_LICENSE,
    INPUT_PASSPORT_ISSUE_DATE,
)
# What airline passenger data (API) never carries: those come only at the counter.
PRELIMINARY_LACKS = frozenset(
    {
        INPUT_DECLARATION,
        INPUT_OBSERVATIONS,
        INPUT_RETURN_TICKET,
        INPUT_ESCORT,
        INPUT_TOUR_OPERATOR_LICENSE,
    }
)
# A preliminary assessment asks for a talk at the counter at most, never a postponement.
PRELIMINARY_ACTION_CAP = "ACTION_SECONDARY_INTERVIEW"

# Decisions that count as a postponement for PRIOR_POSTPONEMENT.
POSTPONING_DECISIONS = frozenset({"DECISION_POSTPONED", "DECISION_REFERRED"})

# How strict an action or a decision is, to compare an officer with the recommendation.
ACTION_STRICTNESS = {
    "ACTION_PROCEED": 0,
    "ACTION_SECONDARY_INTERVIEW": 1,
    "ACTION_POSTPONE_PENDING_VERIFICATION": 2,
}
DECISION_STRICTNESS = {
    "DECISION_CLEARED": 0,
    "DECISION_CLEARED_AFTER_INTERVIEW": 1,
    "DECISION_POSTPONED": 2,
    "DECISION_REFERRED": 2,
}


def versus_recommendation(decision: str, recommended_action: str) -> str:
    """``same``, ``more_lenient`` or ``stricter``: the decision against the recommendation."""
    delta = DECISION_STRICTNESS[decision] - ACTION_STRICTNESS[recommended_action]
    return "same" if delta == 0 else ("stricter" if delta > 0 else "more_lenient")


@dataclass(frozen=True, slots=True)
class Traveller:
    passport_number: str
    nationality: str
    birth_date: dt.date
    # None only in a preliminary screening whose carrier did not send it.
    passport_issue_date: dt.date | None


@dataclass(frozen=True, slots=True)
class Trip:
    flight_number: str
    departure_date: dt.date
    destination_country: str
    transit_countries: tuple[str, ...] = ()
    has_return_ticket: bool = False
    booking_reference: str = ""
    escort_passport_number: str = ""
    tour_operator_license: str = ""


@dataclass(frozen=True, slots=True)
class Declaration:
    purpose: str
    visa_type: str
    disnaker_recommendation_number: str = ""
    bp2mi_registration_number: str = ""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made a call: the device's SPIFFE id and the officer's id (token ``sub``).

    Both empty when the service runs without access control (plain mode).
    """

    device: str = ""
    officer: str = ""

    def __bool__(self) -> bool:
        return bool(self.device or self.officer)


NOBODY = Principal()


@dataclass(frozen=True, slots=True)
class Screening:
    request_id: str
    checkpoint: str
    mode: str
    traveller: Traveller
    trip: Trip
    # None in a preliminary screening: nothing has been declared yet.
    declaration: Declaration | None
    observations: tuple[str, ...] = ()
    officer_id: str = ""
    # Out of the repr, which fingerprints of requests stored before versioning digest;
    # a preliminary screening differs there anyway (it has no declaration).
    stage: str = field(default=STAGE_COUNTER, repr=False)
    # Left out of the repr, which the request fingerprint digests: a retry is the same
    # request whoever sends it, and fingerprints of requests stored before stay valid.
    screened_by: Principal = field(default=NOBODY, repr=False)

    @property
    def preliminary(self) -> bool:
        return self.stage == STAGE_PRELIMINARY

    def missing_inputs(self) -> frozenset[str]:
        """The inputs this screening does not have, whose indicators are not evaluated."""
        missing = set(PRELIMINARY_LACKS) if self.preliminary else set()
        if self.declaration is None:
            missing.add(INPUT_DECLARATION)
        if self.traveller.passport_issue_date is None:
            missing.add(INPUT_PASSPORT_ISSUE_DATE)
        return frozenset(missing)


@dataclass(frozen=True, slots=True)
class FiredIndicator:
    code: str
    weight: int
    title: str
    title_id: str
    legal_basis: tuple[str, ...]
    evidence: dict[str, str]
    remedy: str


@dataclass(frozen=True, slots=True)
class GroupContext:
    group_key: str = ""
    members_screened: int = 0


@dataclass(frozen=True, slots=True)
class Assessment:
    assessment_id: str
    request_id: str
    checkpoint: str
    mode: str
    score: int
    band: str
    recommended_action: str
    indicators: tuple[FiredIndicator, ...]
    ruleset_version: str
    group: GroupContext
    assessed_at: dt.datetime
    # The facts the rules saw (no personal numbers); None in records written before
    # they were kept, which a replay skips.
    facts: Mapping[str, Any] | None = None
    screened_by: Principal = NOBODY
    stage: str = STAGE_COUNTER
    # Indicator codes whose inputs the screening lacked, sorted.
    not_evaluated: tuple[str, ...] = ()
    # The preliminary assessment this counter assessment replaces, if any.
    supersedes: str = ""

    @property
    def preliminary(self) -> bool:
        return self.stage == STAGE_PRELIMINARY


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    assessment_id: str
    decision: str
    officer_id: str
    note: str
    decided_at: dt.datetime
    decided_by: Principal = NOBODY
    request_id: str = ""  # optional: the caller's id for retries


@dataclass(frozen=True, slots=True)
class GroupAlert:
    """A group reached the alert threshold after some of its members were screened."""

    checkpoint: str
    mode: str
    group_key: str
    flight_number: str
    departure_date: dt.date
    members_screened: int
    earlier_assessment_ids: tuple[str, ...]
    raised_at: dt.datetime
    kind: str = "ALERT_KIND_GROUP_FORMED"
    # Given by the store when the alert is stored (0 before): raise order, for
    # resuming a watch. Not part of what the alert says, so not compared.
    alert_id: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class FieldViolation:
    field: str
    description: str


@dataclass(frozen=True, slots=True)
class ScreenOutcome:
    """An assessment and whether it was a stored one returned to a retry."""

    assessment: Assessment
    replayed: bool = False
    alerts: tuple[GroupAlert, ...] = ()
