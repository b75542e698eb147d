"""Proto ↔ domain translation. Input is validated before it gets here."""

from __future__ import annotations

import datetime as dt

from google.protobuf import timestamp_pb2
from google.type import date_pb2

from departure_screening import domain
from departure_screening.screening.ruleset import Ruleset
from departure_screening.v1 import screening_pb2 as pb

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def date_from_pb(value: date_pb2.Date) -> dt.date:
    return dt.date(value.year, value.month, value.day)


def date_to_pb(value: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


def timestamp_to_pb(value: dt.datetime) -> timestamp_pb2.Timestamp:
    # Timestamp.FromDatetime goes through time tuples in Python: five times slower.
    if value.tzinfo is None:  # naive means UTC, as for FromDatetime
        value = value.replace(tzinfo=dt.UTC)
    since = value - _EPOCH
    return timestamp_pb2.Timestamp(
        seconds=since.days * 86_400 + since.seconds, nanos=since.microseconds * 1000
    )


def principal_to_pb(p: domain.Principal) -> pb.Principal:
    return pb.Principal(device=p.device, officer=p.officer)


def screening_from_pb(
    s: pb.Screening, screened_by: domain.Principal = domain.NOBODY
) -> domain.Screening:
    t, trip, d = s.traveller, s.trip, s.declaration
    preliminary = s.stage == pb.STAGE_PRELIMINARY
    return domain.Screening(
        stage=domain.STAGE_PRELIMINARY if preliminary else domain.STAGE_COUNTER,
        request_id=s.request_id,
        checkpoint=s.checkpoint,
        mode=pb.Mode.Name(s.mode),
        officer_id=s.officer_id,
        screened_by=screened_by,
        traveller=domain.Traveller(
            passport_number=t.passport_number,
            nationality=t.nationality,
            birth_date=date_from_pb(t.birth_date),
            passport_issue_date=(
                date_from_pb(t.passport_issue_date) if t.HasField("passport_issue_date") else None
            ),
        ),
        trip=domain.Trip(
            flight_number=trip.flight_number,
            departure_date=date_from_pb(trip.departure_date),
            destination_country=trip.destination_country,
            transit_countries=tuple(trip.transit_countries),
            has_return_ticket=trip.has_return_ticket,
            booking_reference=trip.booking_reference,
            escort_passport_number=trip.escort_passport_number,
            tour_operator_license=trip.tour_operator_license,
        ),
        declaration=None
        if preliminary
        else domain.Declaration(
            purpose=pb.Purpose.Name(d.purpose),
            visa_type=pb.VisaType.Name(d.visa_type),
            disnaker_recommendation_number=d.disnaker_recommendation_number,
            bp2mi_registration_number=d.bp2mi_registration_number,
        ),
        observations=tuple(pb.Observation.Name(o) for o in s.observations),
    )


def assessment_to_pb(a: domain.Assessment) -> pb.Assessment:
    return pb.Assessment(
        assessment_id=a.assessment_id,
        request_id=a.request_id,
        checkpoint=a.checkpoint,
        mode=a.mode,
        score=a.score,
        band=a.band,
        recommended_action=a.recommended_action,
        indicators=[
            pb.FiredIndicator(
                code=f.code,
                weight=f.weight,
                title=f.title,
                title_id=f.title_id,
                legal_basis=list(f.legal_basis),
                evidence=f.evidence,
                remedy=f.remedy,
            )
            for f in a.indicators
        ],
        ruleset_version=a.ruleset_version,
        group=pb.GroupContext(
            group_key=a.group.group_key, members_screened=a.group.members_screened
        ),
        assessed_at=timestamp_to_pb(a.assessed_at),
        screened_by=principal_to_pb(a.screened_by),
        stage=a.stage,
        not_evaluated=list(a.not_evaluated),
        supersedes=a.supersedes,
    )


def decision_from_pb(
    request: pb.RecordDecisionRequest,
    now: dt.datetime,
    decided_by: domain.Principal = domain.NOBODY,
) -> domain.DecisionRecord:
    return domain.DecisionRecord(
        assessment_id=request.assessment_id,
        decision=pb.Decision.Name(request.decision),
        officer_id=request.officer_id,
        note=request.note,
        decided_at=now,
        decided_by=decided_by,
        request_id=request.request_id,
    )


def decision_to_pb(d: domain.DecisionRecord) -> pb.RecordedDecision:
    return pb.RecordedDecision(
        assessment_id=d.assessment_id,
        decision=d.decision,
        officer_id=d.officer_id,
        note=d.note,
        decided_at=timestamp_to_pb(d.decided_at),
        decided_by=principal_to_pb(d.decided_by),
    )


def alert_to_pb(a: domain.GroupAlert) -> pb.Alert:
    return pb.Alert(
        kind=a.kind,
        checkpoint=a.checkpoint,
        mode=a.mode,
        group_key=a.group_key,
        flight_number=a.flight_number,
        departure_date=date_to_pb(a.departure_date),
        assessment_ids=list(a.earlier_assessment_ids),
        members_screened=a.members_screened,
        raised_at=timestamp_to_pb(a.raised_at),
        alert_id=alert_id_to_pb(a.alert_id),
    )


# Digits of an alert id on the wire: fixed width, so text order is number order.
ALERT_ID_DIGITS = 20


def alert_id_to_pb(alert_id: int) -> str:
    return f"{alert_id:0{ALERT_ID_DIGITS}d}" if alert_id > 0 else ""


def indicators_to_pb(ruleset: Ruleset) -> pb.ListIndicatorsResponse:
    return pb.ListIndicatorsResponse(
        ruleset_version=ruleset.version,
        indicators=[
            pb.IndicatorDefinition(
                code=i.code,
                weight=i.weight,
                title=i.title,
                title_id=i.title_id,
                legal_basis=list(i.legal_basis),
                remedy=i.remedy,
                description=i.description,
                mitigating=i.mitigating,
            )
            for i in ruleset.indicators
        ],
    )
