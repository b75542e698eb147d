"""Assessments, decisions and alerts to JSON and back, for the durable stores.

The stored JSON is also what the audit chain hashes, so its text is canonical:
keys sorted, no insignificant whitespace, UTF-8. Decoding gives back a value
equal to the one encoded (a retried request returns the stored assessment exactly).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, cast

import orjson

from departure_screening.domain import (
    NOBODY,
    STAGE_COUNTER,
    Assessment,
    DecisionRecord,
    FiredIndicator,
    GroupAlert,
    GroupContext,
    Principal,
)

# Bumped when the JSON shape changes; decoders accept every version they know.
FORMAT = 1
# Assessments from format 2 on keep the facts the rules saw; format 1 had none.
ASSESSMENT_FORMAT = 2
# Format 3 adds the stage, the indicators not evaluated and the superseded preliminary
# assessment. Only an assessment that has one of them is written in it: a counter
# assessment without them keeps format 2's text, and its chain digest.
STAGED_ASSESSMENT_FORMAT = 3

JsonObject = dict[str, Any]


def canonical(value: Any) -> str:
    """The one text of a JSON value that hashes compare.

    orjson with sorted keys writes exactly what ``json.dumps(value, sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)`` did before it, for every value stored
    here (no floats: those two write some differently), so stored texts, their
    digests and fingerprints stay the same; it takes an eighth of the time.
    """
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _instant(value: dt.datetime) -> str:
    return value.isoformat()


def _parse_instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _principal_to_obj(p: Principal) -> JsonObject:
    return {"device": p.device, "officer": p.officer}


def _principal_from_obj(o: JsonObject | None) -> Principal:
    return NOBODY if o is None else Principal(str(o["device"]), str(o["officer"]))


def _with_principal(obj: JsonObject, key: str, p: Principal) -> JsonObject:
    """Only a known principal is written: records without one keep the text (and the hash)
    they had before principals were recorded, so older stores verify unchanged."""
    if p:
        obj[key] = _principal_to_obj(p)
    return obj


def assessment_to_obj(a: Assessment) -> JsonObject:
    return _with_principal(_with_stage(_assessment_body(a), a), "screened_by", a.screened_by)


def _with_stage(obj: JsonObject, a: Assessment) -> JsonObject:
    if a.stage != STAGE_COUNTER or a.not_evaluated or a.supersedes:
        obj["format"] = STAGED_ASSESSMENT_FORMAT
        obj["stage"] = a.stage
        obj["not_evaluated"] = list(a.not_evaluated)
        obj["supersedes"] = a.supersedes
    return obj


def _assessment_body(a: Assessment) -> JsonObject:
    return {
        "format": ASSESSMENT_FORMAT,
        "facts": None if a.facts is None else dict(a.facts),
        "assessment_id": a.assessment_id,
        "request_id": a.request_id,
        "checkpoint": a.checkpoint,
        "mode": a.mode,
        "score": a.score,
        "band": a.band,
        "recommended_action": a.recommended_action,
        "indicators": [
            {
                "code": f.code,
                "weight": f.weight,
                "title": f.title,
                "title_id": f.title_id,
                "legal_basis": list(f.legal_basis),
                "evidence": dict(f.evidence),
                "remedy": f.remedy,
            }
            for f in a.indicators
        ],
        "ruleset_version": a.ruleset_version,
        "group": {"group_key": a.group.group_key, "members_screened": a.group.members_screened},
        "assessed_at": _instant(a.assessed_at),
    }


def assessment_from_obj(o: JsonObject) -> Assessment:
    _check_format(o, (FORMAT, ASSESSMENT_FORMAT, STAGED_ASSESSMENT_FORMAT))
    facts = o.get("facts")
    return Assessment(
        assessment_id=str(o["assessment_id"]),
        request_id=str(o["request_id"]),
        checkpoint=str(o["checkpoint"]),
        mode=str(o["mode"]),
        score=int(o["score"]),
        band=str(o["band"]),
        recommended_action=str(o["recommended_action"]),
        indicators=tuple(
            FiredIndicator(
                code=str(f["code"]),
                weight=int(f["weight"]),
                title=str(f["title"]),
                title_id=str(f["title_id"]),
                legal_basis=tuple(str(b) for b in f["legal_basis"]),
                evidence={str(k): str(v) for k, v in f["evidence"].items()},
                remedy=str(f["remedy"]),
            )
            for f in o["indicators"]
        ),
        ruleset_version=str(o["ruleset_version"]),
        group=GroupContext(
            group_key=str(o["group"]["group_key"]),
            members_screened=int(o["group"]["members_screened"]),
        ),
        assessed_at=_parse_instant(o["assessed_at"]),
        facts=dict(facts) if isinstance(facts, dict) else None,
        screened_by=_principal_from_obj(o.get("screened_by")),
        stage=str(o.get("stage", STAGE_COUNTER)),
        not_evaluated=tuple(str(c) for c in o.get("not_evaluated", ())),
        supersedes=str(o.get("supersedes", "")),
    )


def decision_to_obj(d: DecisionRecord) -> JsonObject:
    body: JsonObject = {
        "format": FORMAT,
        "assessment_id": d.assessment_id,
        "decision": d.decision,
        "officer_id": d.officer_id,
        "note": d.note,
        "decided_at": _instant(d.decided_at),
    }
    if d.request_id:
        # Only when given: a decision without one keeps the text (and the chain
        # digest) it had before decisions carried request ids.
        body["request_id"] = d.request_id
    return _with_principal(body, "decided_by", d.decided_by)


def decision_from_obj(o: JsonObject) -> DecisionRecord:
    _check_format(o)
    return DecisionRecord(
        assessment_id=str(o["assessment_id"]),
        decision=str(o["decision"]),
        officer_id=str(o["officer_id"]),
        note=str(o["note"]),
        decided_at=_parse_instant(o["decided_at"]),
        decided_by=_principal_from_obj(o.get("decided_by")),
        request_id=str(o.get("request_id", "")),
    )


def alert_to_obj(a: GroupAlert) -> JsonObject:
    return {
        "format": FORMAT,
        "kind": a.kind,
        "checkpoint": a.checkpoint,
        "mode": a.mode,
        "group_key": a.group_key,
        "flight_number": a.flight_number,
        "departure_date": a.departure_date.isoformat(),
        "members_screened": a.members_screened,
        "earlier_assessment_ids": list(a.earlier_assessment_ids),
        "raised_at": _instant(a.raised_at),
    }


def alert_from_obj(o: JsonObject) -> GroupAlert:
    _check_format(o)
    return GroupAlert(
        checkpoint=str(o["checkpoint"]),
        mode=str(o["mode"]),
        group_key=str(o["group_key"]),
        flight_number=str(o["flight_number"]),
        departure_date=dt.date.fromisoformat(o["departure_date"]),
        members_screened=int(o["members_screened"]),
        earlier_assessment_ids=tuple(str(i) for i in o["earlier_assessment_ids"]),
        raised_at=_parse_instant(o["raised_at"]),
        kind=str(o["kind"]),
    )


def encode_assessment(a: Assessment) -> str:
    return canonical(assessment_to_obj(a))


def decode_assessment(text: str) -> Assessment:
    return assessment_from_obj(_load(text))


def encode_decision(d: DecisionRecord) -> str:
    return canonical(decision_to_obj(d))


def decode_decision(text: str) -> DecisionRecord:
    return decision_from_obj(_load(text))


def encode_alert(a: GroupAlert) -> str:
    return canonical(alert_to_obj(a))


def decode_alert(text: str) -> GroupAlert:
    return alert_from_obj(_load(text))


def _load(text: str) -> JsonObject:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("stored record is not a JSON object")
    return cast(JsonObject, value)


def _check_format(o: JsonObject, known: tuple[int, ...] = (FORMAT,)) -> None:
    if o.get("format") not in known:
        raise ValueError(f"unknown stored record format {o.get('format')!r}")
