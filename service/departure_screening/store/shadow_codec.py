"""Shadow results to canonical JSON and back (the text the audit chain hashes)."""

from __future__ import annotations

import json

from departure_screening.screening.shadow import ShadowResult
from departure_screening.store.codec import canonical

SHADOW_FORMAT = 1


def encode_shadow(r: ShadowResult) -> str:
    return canonical(
        {
            "format": SHADOW_FORMAT,
            "assessment_id": r.assessment_id,
            "ruleset_version": r.ruleset_version,
            "score": r.score,
            "band": r.band,
            "recommended_action": r.recommended_action,
            "codes": list(r.codes),
            "evaluated_at": r.evaluated_at.isoformat(),
        }
    )


def decode_shadow(text: str) -> ShadowResult:
    o = json.loads(text)
    if not isinstance(o, dict) or o.get("format") != SHADOW_FORMAT:
        raise ValueError("stored shadow result has an unknown format")
    import datetime as dt

    return ShadowResult(
        assessment_id=str(o["assessment_id"]),
        ruleset_version=str(o["ruleset_version"]),
        score=int(o["score"]),
        band=str(o["band"]),
        recommended_action=str(o["recommended_action"]),
        codes=tuple(str(c) for c in o["codes"]),
        evaluated_at=dt.datetime.fromisoformat(o["evaluated_at"]),
    )
