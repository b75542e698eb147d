"""Contract rules for every request field, checked on the proto messages.

Each bad field gives exactly one violation, named by its dotted path
(``screening.trip.destination_country``, ``screening.observations[2]``), and a
response holds at most ``MAX_VIOLATIONS`` of them: a request made of thousands of
bad items costs no more to refuse than one with a few. Descriptions never repeat
a personal number.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection

from google.type import date_pb2

from departure_screening import domain
from departure_screening.countries import COUNTRY_CODES
from departure_screening.domain import FieldViolation
from departure_screening.v1 import screening_pb2 as pb

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
PASSPORT = re.compile(r"[A-Z0-9<]{5,20}")
FLIGHT = re.compile(r"[A-Z0-9]{2,10}")
MAX_TRANSITS = 8
MAX_OFFICER_ID = 64
MAX_BOOKING_REFERENCE = 16
MAX_TOUR_LICENSE = 32
MAX_DOCUMENT_NUMBER = 64
MAX_NOTE = 500
MAX_ASSESSMENT_ID = 64
# Field violations in one response; the rest of a flood of bad items is left out.
MAX_VIOLATIONS = 20
# The largest request message the server accepts (grpc.max_receive_message_length);
# a valid screening is under 2 KiB. A larger one is refused by gRPC's core with
# RESOURCE_EXHAUSTED before any Python code reads it.
MAX_REQUEST_BYTES = 64 * 1024

_MODES = {pb.Mode.Value(m) for m in domain.MODES}
_PURPOSES = {pb.Purpose.Value(p) for p in domain.PURPOSES}
_VISAS = {pb.VisaType.Value(v) for v in domain.VISA_TYPES}
_OBSERVATIONS = {pb.Observation.Value(o) for o in domain.OBSERVATIONS}
_DECISIONS = {pb.Decision.Value(d) for d in domain.DECISIONS}
_STAGES = {pb.STAGE_UNSPECIFIED, pb.STAGE_COUNTER, pb.STAGE_PRELIMINARY}


class _Violations:
    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    @property
    def full(self) -> bool:
        return len(self.items) >= MAX_VIOLATIONS

    def add(self, field: str, description: str) -> None:
        if not self.full:
            self.items.append(FieldViolation(field, description))


def to_date(value: date_pb2.Date) -> dt.date | None:
    """The calendar date, or None when it is not a real one."""
    try:
        return dt.date(value.year, value.month, value.day)
    except ValueError:
        return None


def _check_date(v: _Violations, path: str, has: bool, value: date_pb2.Date) -> dt.date | None:
    if not has or (value.year, value.month, value.day) == (0, 0, 0):
        v.add(path, "required")
        return None
    day = to_date(value)
    if day is None:
        v.add(path, "not a real calendar date (year 1-9999, month 1-12, a day of that month)")
    return day


def _check_text(v: _Violations, path: str, value: str, limit: int) -> None:
    if len(value) > limit:
        v.add(path, f"at most {limit} characters")
    elif not value.isprintable():
        v.add(path, "must not contain control characters")


def _check_country(v: _Violations, path: str, value: str, required: bool) -> None:
    if not value:
        if required:
            v.add(path, "required: an ISO 3166-1 alpha-2 code such as KH")
    elif value not in COUNTRY_CODES:
        v.add(path, "not an ISO 3166-1 alpha-2 country code in upper case, such as KH")


def screening_violations(
    request: pb.ScreenRequest | pb.ScreenManifestRequest, checkpoints: Collection[str]
) -> list[FieldViolation]:
    v = _Violations()
    if not request.HasField("screening"):
        v.add("screening", "required")
        return v.items
    s = request.screening
    if not s.request_id:
        v.add("screening.request_id", "required")
    elif not REQUEST_ID.fullmatch(s.request_id):
        v.add("screening.request_id", "1-64 characters of A-Z a-z 0-9 . _ : -")
    if not s.checkpoint:
        v.add("screening.checkpoint", "required")
    elif s.checkpoint not in checkpoints:
        v.add(
            "screening.checkpoint",
            f"not a configured checkpoint ({', '.join(sorted(checkpoints))})",
        )
    if s.mode not in _MODES:
        v.add("screening.mode", "required: MODE_LIVE or MODE_TRAINING")
    if s.stage not in _STAGES:
        v.add("screening.stage", "not a Stage value")
    preliminary = s.stage == pb.STAGE_PRELIMINARY
    _check_text(v, "screening.officer_id", s.officer_id, MAX_OFFICER_ID)

    departure: dt.date | None = None
    if not s.HasField("trip"):
        v.add("screening.trip", "required")
    else:
        departure = _trip(v, s.trip)
    if not s.HasField("traveller"):
        v.add("screening.traveller", "required")
    else:
        _traveller(v, s.traveller, departure, issue_date_required=not preliminary)
    if preliminary:
        if s.HasField("declaration"):
            v.add("screening.declaration", "a preliminary screening has no declaration")
    elif not s.HasField("declaration"):
        v.add("screening.declaration", "required")
    else:
        d = s.declaration
        if d.purpose not in _PURPOSES:
            v.add("screening.declaration.purpose", "required: one of the Purpose values")
        if d.visa_type not in _VISAS:
            v.add("screening.declaration.visa_type", "required: one of the VisaType values")
        _check_text(
            v,
            "screening.declaration.disnaker_recommendation_number",
            d.disnaker_recommendation_number,
            MAX_DOCUMENT_NUMBER,
        )
        _check_text(
            v,
            "screening.declaration.bp2mi_registration_number",
            d.bp2mi_registration_number,
            MAX_DOCUMENT_NUMBER,
        )
    seen: set[int] = set()
    for n, obs in enumerate(s.observations):
        if v.full:  # a flood of repeats costs no more than MAX_VIOLATIONS of them
            break
        if obs not in _OBSERVATIONS:
            v.add(f"screening.observations[{n}]", "not an Observation value")
        elif obs in seen:
            v.add(f"screening.observations[{n}]", "repeats an earlier observation")
        seen.add(obs)
    return v.items


def _trip(v: _Violations, t: pb.Trip) -> dt.date | None:
    p = "screening.trip"
    if not t.flight_number:
        v.add(f"{p}.flight_number", "required")
    elif not FLIGHT.fullmatch(t.flight_number):
        v.add(f"{p}.flight_number", "2-10 characters of A-Z 0-9")
    departure = _check_date(
        v, f"{p}.departure_date", t.HasField("departure_date"), t.departure_date
    )
    _check_country(v, f"{p}.destination_country", t.destination_country, required=True)
    if len(t.transit_countries) > MAX_TRANSITS:
        v.add(f"{p}.transit_countries", f"at most {MAX_TRANSITS} transit countries")
    else:
        for n, code in enumerate(t.transit_countries):
            _check_country(v, f"{p}.transit_countries[{n}]", code, required=True)
    _check_text(v, f"{p}.booking_reference", t.booking_reference, MAX_BOOKING_REFERENCE)
    if t.escort_passport_number and not PASSPORT.fullmatch(t.escort_passport_number):
        v.add(f"{p}.escort_passport_number", "5-20 characters of A-Z 0-9 <")
    _check_text(v, f"{p}.tour_operator_license", t.tour_operator_license, MAX_TOUR_LICENSE)
    return departure


def _traveller(
    v: _Violations, t: pb.Traveller, departure: dt.date | None, *, issue_date_required: bool
) -> None:
    p = "screening.traveller"
    if not t.passport_number:
        v.add(f"{p}.passport_number", "required")
    elif not PASSPORT.fullmatch(t.passport_number):
        v.add(f"{p}.passport_number", "5-20 characters of A-Z 0-9 <")
    _check_country(v, f"{p}.nationality", t.nationality, required=False)
    birth = _check_date(v, f"{p}.birth_date", t.HasField("birth_date"), t.birth_date)
    if birth and departure and birth > departure:
        v.add(f"{p}.birth_date", "must not be after the departure date")
        birth = None
    has_issued = t.HasField("passport_issue_date")
    issued = (
        _check_date(v, f"{p}.passport_issue_date", has_issued, t.passport_issue_date)
        if has_issued or issue_date_required
        else None
    )
    if issued and departure and issued > departure:
        v.add(f"{p}.passport_issue_date", "must not be after the departure date")
    elif issued and birth and issued < birth:
        v.add(f"{p}.passport_issue_date", "must not be before the birth date")


def decision_violations(request: pb.RecordDecisionRequest) -> list[FieldViolation]:
    v = _Violations()
    _check_assessment_id(v, request.assessment_id)
    if not request.officer_id:
        v.add("officer_id", "required")
    else:
        _check_text(v, "officer_id", request.officer_id, MAX_OFFICER_ID)
    if request.decision not in _DECISIONS:
        v.add("decision", "required: one of the Decision values")
    _check_text(v, "note", request.note, MAX_NOTE)
    if request.request_id and not REQUEST_ID.fullmatch(request.request_id):
        v.add("request_id", "1-64 characters of A-Z a-z 0-9 . _ : -")
    return v.items


def assessment_id_violations(assessment_id: str) -> list[FieldViolation]:
    v = _Violations()
    _check_assessment_id(v, assessment_id)
    return v.items


def _check_assessment_id(v: _Violations, assessment_id: str) -> None:
    if not assessment_id:
        v.add("assessment_id", "required")
    elif len(assessment_id) > MAX_ASSESSMENT_ID or not REQUEST_ID.fullmatch(assessment_id):
        v.add("assessment_id", "not an assessment id")


def watch_violations(
    request: pb.WatchAlertsRequest, checkpoints: Collection[str]
) -> list[FieldViolation]:
    v = _Violations()
    if request.checkpoint not in checkpoints:
        v.add("checkpoint", "required: a configured checkpoint")
    if request.mode not in _MODES:
        v.add("mode", "required: MODE_LIVE or MODE_TRAINING")
    if request.after_alert_id and alert_id_from_pb(request.after_alert_id) is None:
        v.add("after_alert_id", "an alert_id this service sent, or empty")
    return v.items


ALERT_ID = re.compile(r"[0-9]{1,20}")
_MAX_ALERT_ID = 2**63 - 1  # a BIGINT / SQLite INTEGER


def alert_id_from_pb(text: str) -> int | None:
    """The number of an ``alert_id`` (0 for none), or None when it is not one."""
    if not text:
        return 0
    if not ALERT_ID.fullmatch(text):
        return None
    value = int(text)
    return value if value <= _MAX_ALERT_ID else None
