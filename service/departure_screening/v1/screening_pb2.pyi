import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from google.type import date_pb2 as _date_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODE_UNSPECIFIED: _ClassVar[Mode]
    MODE_LIVE: _ClassVar[Mode]
    MODE_TRAINING: _ClassVar[Mode]

class Stage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STAGE_UNSPECIFIED: _ClassVar[Stage]
    STAGE_COUNTER: _ClassVar[Stage]
    STAGE_PRELIMINARY: _ClassVar[Stage]

class Purpose(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PURPOSE_UNSPECIFIED: _ClassVar[Purpose]
    PURPOSE_TOURISM: _ClassVar[Purpose]
    PURPOSE_FAMILY_VISIT: _ClassVar[Purpose]
    PURPOSE_BUSINESS: _ClassVar[Purpose]
    PURPOSE_WORK: _ClassVar[Purpose]
    PURPOSE_STUDY: _ClassVar[Purpose]
    PURPOSE_PILGRIMAGE: _ClassVar[Purpose]
    PURPOSE_OTHER: _ClassVar[Purpose]

class VisaType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VISA_TYPE_UNSPECIFIED: _ClassVar[VisaType]
    VISA_TYPE_VISA_EXEMPT: _ClassVar[VisaType]
    VISA_TYPE_TOURIST: _ClassVar[VisaType]
    VISA_TYPE_VISA_ON_ARRIVAL: _ClassVar[VisaType]
    VISA_TYPE_BUSINESS: _ClassVar[VisaType]
    VISA_TYPE_WORK: _ClassVar[VisaType]
    VISA_TYPE_STUDENT: _ClassVar[VisaType]
    VISA_TYPE_PILGRIMAGE: _ClassVar[VisaType]

class Observation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OBSERVATION_UNSPECIFIED: _ClassVar[Observation]
    OBSERVATION_UNABLE_TO_EXPLAIN_PURPOSE: _ClassVar[Observation]
    OBSERVATION_INCONSISTENT_ANSWERS: _ClassVar[Observation]
    OBSERVATION_CARRIES_JOB_OFFER: _ClassVar[Observation]
    OBSERVATION_ACCOMPANIED_BY_RECRUITER: _ClassVar[Observation]

class RiskBand(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RISK_BAND_UNSPECIFIED: _ClassVar[RiskBand]
    RISK_BAND_LOW: _ClassVar[RiskBand]
    RISK_BAND_ELEVATED: _ClassVar[RiskBand]
    RISK_BAND_HIGH: _ClassVar[RiskBand]

class Action(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_UNSPECIFIED: _ClassVar[Action]
    ACTION_PROCEED: _ClassVar[Action]
    ACTION_SECONDARY_INTERVIEW: _ClassVar[Action]
    ACTION_POSTPONE_PENDING_VERIFICATION: _ClassVar[Action]

class Decision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_UNSPECIFIED: _ClassVar[Decision]
    DECISION_CLEARED: _ClassVar[Decision]
    DECISION_CLEARED_AFTER_INTERVIEW: _ClassVar[Decision]
    DECISION_POSTPONED: _ClassVar[Decision]
    DECISION_REFERRED: _ClassVar[Decision]

class AlertKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALERT_KIND_UNSPECIFIED: _ClassVar[AlertKind]
    ALERT_KIND_GROUP_FORMED: _ClassVar[AlertKind]
MODE_UNSPECIFIED: Mode
MODE_LIVE: Mode
MODE_TRAINING: Mode
STAGE_UNSPECIFIED: Stage
STAGE_COUNTER: Stage
STAGE_PRELIMINARY: Stage
PURPOSE_UNSPECIFIED: Purpose
PURPOSE_TOURISM: Purpose
PURPOSE_FAMILY_VISIT: Purpose
PURPOSE_BUSINESS: Purpose
PURPOSE_WORK: Purpose
PURPOSE_STUDY: Purpose
PURPOSE_PILGRIMAGE: Purpose
PURPOSE_OTHER: Purpose
VISA_TYPE_UNSPECIFIED: VisaType
VISA_TYPE_VISA_EXEMPT: VisaType
VISA_TYPE_TOURIST: VisaType
VISA_TYPE_VISA_ON_ARRIVAL: VisaType
VISA_TYPE_BUSINESS: VisaType
VISA_TYPE_WORK: VisaType
VISA_TYPE_STUDENT: VisaType
VISA_TYPE_PILGRIMAGE: VisaType
OBSERVATION_UNSPECIFIED: Observation
OBSERVATION_UNABLE_TO_EXPLAIN_PURPOSE: Observation
OBSERVATION_INCONSISTENT_ANSWERS: Observation
OBSERVATION_CARRIES_JOB_OFFER: Observation
OBSERVATION_ACCOMPANIED_BY_RECRUITER: Observation
RISK_BAND_UNSPECIFIED: RiskBand
RISK_BAND_LOW: RiskBand
RISK_BAND_ELEVATED: RiskBand
RISK_BAND_HIGH: RiskBand
ACTION_UNSPECIFIED: Action
ACTION_PROCEED: Action
ACTION_SECONDARY_INTERVIEW: Action
ACTION_POSTPONE_PENDING_VERIFICATION: Action
DECISION_UNSPECIFIED: Decision
DECISION_CLEARED: Decision
DECISION_CLEARED_AFTER_INTERVIEW: Decision
DECISION_POSTPONED: Decision
DECISION_REFERRED: Decision
ALERT_KIND_UNSPECIFIED: AlertKind
ALERT_KIND_GROUP_FORMED: AlertKind

class Traveller(_message.Message):
    __slots__ = ("passport_number", "nationality", "birth_date", "passport_issue_date")
    PASSPORT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    NATIONALITY_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    PASSPORT_ISSUE_DATE_FIELD_NUMBER: _ClassVar[int]
    passport_number: str
    nationality: str
    birth_date: _date_pb2.Date
    passport_issue_date: _date_pb2.Date
    def __init__(self, passport_number: _Optional[str] = ..., nationality: _Optional[str] = ..., birth_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., passport_issue_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class Trip(_message.Message):
    __slots__ = ("flight_number", "departure_date", "destination_country", "transit_countries", "has_return_ticket", "booking_reference", "escort_passport_number", "tour_operator_license")
    FLIGHT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    DEPARTURE_DATE_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    TRANSIT_COUNTRIES_FIELD_NUMBER: _ClassVar[int]
    HAS_RETURN_TICKET_FIELD_NUMBER: _ClassVar[int]
    BOOKING_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    ESCORT_PASSPORT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TOUR_OPERATOR_LICENSE_FIELD_NUMBER: _ClassVar[int]
    flight_number: str
    departure_date: _date_pb2.Date
    destination_country: str
    transit_countries: _containers.RepeatedScalarFieldContainer[str]
    has_return_ticket: bool
    booking_reference: str
    escort_passport_number: str
    tour_operator_license: str
    def __init__(self, flight_number: _Optional[str] = ..., departure_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., destination_country: _Optional[str] = ..., transit_countries: _Optional[_Iterable[str]] = ..., has_return_ticket: _Optional[bool] = ..., booking_reference: _Optional[str] = ..., escort_passport_number: _Optional[str] = ..., tour_operator_license: _Optional[str] = ...) -> None: ...

class Declaration(_message.Message):
    __slots__ = ("purpose", "visa_type", "disnaker_recommendation_number", "bp2mi_registration_number")
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    VISA_TYPE_FIELD_NUMBER: _ClassVar[int]
    DISNAKER_RECOMMENDATION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    BP2MI_REGISTRATION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    purpose: Purpose
    visa_type: VisaType
    disnaker_recommendation_number: str
    bp2mi_registration_number: str
    def __init__(self, purpose: _Optional[_Union[Purpose, str]] = ..., visa_type: _Optional[_Union[VisaType, str]] = ..., disnaker_recommendation_number: _Optional[str] = ..., bp2mi_registration_number: _Optional[str] = ...) -> None: ...

class Screening(_message.Message):
    __slots__ = ("request_id", "checkpoint", "mode", "officer_id", "traveller", "trip", "declaration", "observations", "stage")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    OFFICER_ID_FIELD_NUMBER: _ClassVar[int]
    TRAVELLER_FIELD_NUMBER: _ClassVar[int]
    TRIP_FIELD_NUMBER: _ClassVar[int]
    DECLARATION_FIELD_NUMBER: _ClassVar[int]
    OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    checkpoint: str
    mode: Mode
    officer_id: str
    traveller: Traveller
    trip: Trip
    declaration: Declaration
    observations: _containers.RepeatedScalarFieldContainer[Observation]
    stage: Stage
    def __init__(self, request_id: _Optional[str] = ..., checkpoint: _Optional[str] = ..., mode: _Optional[_Union[Mode, str]] = ..., officer_id: _Optional[str] = ..., traveller: _Optional[_Union[Traveller, _Mapping]] = ..., trip: _Optional[_Union[Trip, _Mapping]] = ..., declaration: _Optional[_Union[Declaration, _Mapping]] = ..., observations: _Optional[_Iterable[_Union[Observation, str]]] = ..., stage: _Optional[_Union[Stage, str]] = ...) -> None: ...

class FiredIndicator(_message.Message):
    __slots__ = ("code", "weight", "title", "title_id", "legal_basis", "evidence", "remedy")
    class EvidenceEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CODE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TITLE_ID_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    REMEDY_FIELD_NUMBER: _ClassVar[int]
    code: str
    weight: int
    title: str
    title_id: str
    legal_basis: _containers.RepeatedScalarFieldContainer[str]
    evidence: _containers.ScalarMap[str, str]
    remedy: str
    def __init__(self, code: _Optional[str] = ..., weight: _Optional[int] = ..., title: _Optional[str] = ..., title_id: _Optional[str] = ..., legal_basis: _Optional[_Iterable[str]] = ..., evidence: _Optional[_Mapping[str, str]] = ..., remedy: _Optional[str] = ...) -> None: ...

class GroupContext(_message.Message):
    __slots__ = ("group_key", "members_screened")
    GROUP_KEY_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_SCREENED_FIELD_NUMBER: _ClassVar[int]
    group_key: str
    members_screened: int
    def __init__(self, group_key: _Optional[str] = ..., members_screened: _Optional[int] = ...) -> None: ...

class Assessment(_message.Message):
    __slots__ = ("assessment_id", "request_id", "checkpoint", "mode", "score", "band", "recommended_action", "indicators", "ruleset_version", "group", "assessed_at", "screened_by", "stage", "not_evaluated", "supersedes")
    ASSESSMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    BAND_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_ACTION_FIELD_NUMBER: _ClassVar[int]
    INDICATORS_FIELD_NUMBER: _ClassVar[int]
    RULESET_VERSION_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    ASSESSED_AT_FIELD_NUMBER: _ClassVar[int]
    SCREENED_BY_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    NOT_EVALUATED_FIELD_NUMBER: _ClassVar[int]
    SUPERSEDES_FIELD_NUMBER: _ClassVar[int]
    assessment_id: str
    request_id: str
    checkpoint: str
    mode: Mode
    score: int
    band: RiskBand
    recommended_action: Action
    indicators: _containers.RepeatedCompositeFieldContainer[FiredIndicator]
    ruleset_version: str
    group: GroupContext
    assessed_at: _timestamp_pb2.Timestamp
    screened_by: Principal
    stage: Stage
    not_evaluated: _containers.RepeatedScalarFieldContainer[str]
    supersedes: str
    def __init__(self, assessment_id: _Optional[str] = ..., request_id: _Optional[str] = ..., checkpoint: _Optional[str] = ..., mode: _Optional[_Union[Mode, str]] = ..., score: _Optional[int] = ..., band: _Optional[_Union[RiskBand, str]] = ..., recommended_action: _Optional[_Union[Action, str]] = ..., indicators: _Optional[_Iterable[_Union[FiredIndicator, _Mapping]]] = ..., ruleset_version: _Optional[str] = ..., group: _Optional[_Union[GroupContext, _Mapping]] = ..., assessed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., screened_by: _Optional[_Union[Principal, _Mapping]] = ..., stage: _Optional[_Union[Stage, str]] = ..., not_evaluated: _Optional[_Iterable[str]] = ..., supersedes: _Optional[str] = ...) -> None: ...

class IndicatorDefinition(_message.Message):
    __slots__ = ("code", "weight", "title", "title_id", "legal_basis", "remedy", "description", "mitigating")
    CODE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TITLE_ID_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    REMEDY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    MITIGATING_FIELD_NUMBER: _ClassVar[int]
    code: str
    weight: int
    title: str
    title_id: str
    legal_basis: _containers.RepeatedScalarFieldContainer[str]
    remedy: str
    description: str
    mitigating: bool
    def __init__(self, code: _Optional[str] = ..., weight: _Optional[int] = ..., title: _Optional[str] = ..., title_id: _Optional[str] = ..., legal_basis: _Optional[_Iterable[str]] = ..., remedy: _Optional[str] = ..., description: _Optional[str] = ..., mitigating: _Optional[bool] = ...) -> None: ...

class RecordedDecision(_message.Message):
    __slots__ = ("assessment_id", "decision", "officer_id", "note", "decided_at", "decided_by")
    ASSESSMENT_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    OFFICER_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    assessment_id: str
    decision: Decision
    officer_id: str
    note: str
    decided_at: _timestamp_pb2.Timestamp
    decided_by: Principal
    def __init__(self, assessment_id: _Optional[str] = ..., decision: _Optional[_Union[Decision, str]] = ..., officer_id: _Optional[str] = ..., note: _Optional[str] = ..., decided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decided_by: _Optional[_Union[Principal, _Mapping]] = ...) -> None: ...

class Principal(_message.Message):
    __slots__ = ("device", "officer")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    OFFICER_FIELD_NUMBER: _ClassVar[int]
    device: str
    officer: str
    def __init__(self, device: _Optional[str] = ..., officer: _Optional[str] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ("kind", "checkpoint", "mode", "group_key", "flight_number", "departure_date", "assessment_ids", "members_screened", "raised_at", "alert_id")
    KIND_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    GROUP_KEY_FIELD_NUMBER: _ClassVar[int]
    FLIGHT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    DEPARTURE_DATE_FIELD_NUMBER: _ClassVar[int]
    ASSESSMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_SCREENED_FIELD_NUMBER: _ClassVar[int]
    RAISED_AT_FIELD_NUMBER: _ClassVar[int]
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    kind: AlertKind
    checkpoint: str
    mode: Mode
    group_key: str
    flight_number: str
    departure_date: _date_pb2.Date
    assessment_ids: _containers.RepeatedScalarFieldContainer[str]
    members_screened: int
    raised_at: _timestamp_pb2.Timestamp
    alert_id: str
    def __init__(self, kind: _Optional[_Union[AlertKind, str]] = ..., checkpoint: _Optional[str] = ..., mode: _Optional[_Union[Mode, str]] = ..., group_key: _Optional[str] = ..., flight_number: _Optional[str] = ..., departure_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., assessment_ids: _Optional[_Iterable[str]] = ..., members_screened: _Optional[int] = ..., raised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., alert_id: _Optional[str] = ...) -> None: ...

class ScreenRequest(_message.Message):
    __slots__ = ("screening",)
    SCREENING_FIELD_NUMBER: _ClassVar[int]
    screening: Screening
    def __init__(self, screening: _Optional[_Union[Screening, _Mapping]] = ...) -> None: ...

class ScreenResponse(_message.Message):
    __slots__ = ("assessment",)
    ASSESSMENT_FIELD_NUMBER: _ClassVar[int]
    assessment: Assessment
    def __init__(self, assessment: _Optional[_Union[Assessment, _Mapping]] = ...) -> None: ...

class ScreenManifestRequest(_message.Message):
    __slots__ = ("screening",)
    SCREENING_FIELD_NUMBER: _ClassVar[int]
    screening: Screening
    def __init__(self, screening: _Optional[_Union[Screening, _Mapping]] = ...) -> None: ...

class ScreenManifestResponse(_message.Message):
    __slots__ = ("assessment", "error")
    ASSESSMENT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    assessment: Assessment
    error: _status_pb2.Status
    def __init__(self, assessment: _Optional[_Union[Assessment, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class RecordDecisionRequest(_message.Message):
    __slots__ = ("assessment_id", "officer_id", "decision", "note", "request_id")
    ASSESSMENT_ID_FIELD_NUMBER: _ClassVar[int]
    OFFICER_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    assessment_id: str
    officer_id: str
    decision: Decision
    note: str
    request_id: str
    def __init__(self, assessment_id: _Optional[str] = ..., officer_id: _Optional[str] = ..., decision: _Optional[_Union[Decision, str]] = ..., note: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RecordDecisionResponse(_message.Message):
    __slots__ = ("decision",)
    DECISION_FIELD_NUMBER: _ClassVar[int]
    decision: RecordedDecision
    def __init__(self, decision: _Optional[_Union[RecordedDecision, _Mapping]] = ...) -> None: ...

class GetAssessmentRequest(_message.Message):
    __slots__ = ("assessment_id",)
    ASSESSMENT_ID_FIELD_NUMBER: _ClassVar[int]
    assessment_id: str
    def __init__(self, assessment_id: _Optional[str] = ...) -> None: ...

class GetAssessmentResponse(_message.Message):
    __slots__ = ("assessment", "decisions")
    ASSESSMENT_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    assessment: Assessment
    decisions: _containers.RepeatedCompositeFieldContainer[RecordedDecision]
    def __init__(self, assessment: _Optional[_Union[Assessment, _Mapping]] = ..., decisions: _Optional[_Iterable[_Union[RecordedDecision, _Mapping]]] = ...) -> None: ...

class ListIndicatorsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListIndicatorsResponse(_message.Message):
    __slots__ = ("ruleset_version", "indicators")
    RULESET_VERSION_FIELD_NUMBER: _ClassVar[int]
    INDICATORS_FIELD_NUMBER: _ClassVar[int]
    ruleset_version: str
    indicators: _containers.RepeatedCompositeFieldContainer[IndicatorDefinition]
    def __init__(self, ruleset_version: _Optional[str] = ..., indicators: _Optional[_Iterable[_Union[IndicatorDefinition, _Mapping]]] = ...) -> None: ...

class WatchAlertsRequest(_message.Message):
    __slots__ = ("checkpoint", "mode", "after_alert_id")
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    AFTER_ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    checkpoint: str
    mode: Mode
    after_alert_id: str
    def __init__(self, checkpoint: _Optional[str] = ..., mode: _Optional[_Union[Mode, str]] = ..., after_alert_id: _Optional[str] = ...) -> None: ...

class WatchAlertsResponse(_message.Message):
    __slots__ = ("alert",)
    ALERT_FIELD_NUMBER: _ClassVar[int]
    alert: Alert
    def __init__(self, alert: _Optional[_Union[Alert, _Mapping]] = ...) -> None: ...
