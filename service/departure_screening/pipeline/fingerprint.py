"""What makes two requests "the same content": an explicit, versioned encoding.

A retry is recognised by its request id and a keyed digest of its content. The
digest is taken over a canonical JSON text built here field by field, not over a
Python ``repr()``, so a release that renames or adds a field does not change the
fingerprint of requests stored before it (an added field is left out while it
holds its default). A change to the encoding itself is a new version: stored
fingerprints carry theirs, and the old encodings stay here to compare with.
"""

from __future__ import annotations

from typing import Any

import orjson

from departure_screening.domain import DecisionRecord, Screening
from departure_screening.privacy.pseudonym import Pseudonymizer

VERSION = "f1"


def _canonical(value: Any) -> str:
    # The text json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) gave
    # when fingerprints were first stored (see store.codec.canonical).
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def screening_encoding(s: Screening) -> str:
    t, trip, d = s.traveller, s.trip, s.declaration
    issued = t.passport_issue_date
    # The stage is left out at its default, so counter fingerprints stored before it stay.
    stage = {"stage": s.stage} if s.preliminary else {}
    return _canonical(
        {
            **stage,
            "request_id": s.request_id,
            "checkpoint": s.checkpoint,
            "mode": s.mode,
            "officer_id": s.officer_id,
            "traveller": {
                "passport_number": t.passport_number,
                "nationality": t.nationality,
                "birth_date": t.birth_date.isoformat(),
                "passport_issue_date": issued.isoformat() if issued else None,
            },
            "trip": {
                "flight_number": trip.flight_number,
                "departure_date": trip.departure_date.isoformat(),
                "destination_country": trip.destination_country,
                "transit_countries": list(trip.transit_countries),
                "has_return_ticket": trip.has_return_ticket,
                "booking_reference": trip.booking_reference,
                "escort_passport_number": trip.escort_passport_number,
                "tour_operator_license": trip.tour_operator_license,
            },
            "declaration": None
            if d is None
            else {
                "purpose": d.purpose,
                "visa_type": d.visa_type,
                "disnaker_recommendation_number": d.disnaker_recommendation_number,
                "bp2mi_registration_number": d.bp2mi_registration_number,
            },
            "observations": list(s.observations),
        }
    )


def decision_encoding(request_id: str, d: DecisionRecord) -> str:
    """The caller's content of a decision: not the time the service stamps on it."""
    return _canonical(
        {
            "request_id": request_id,
            "assessment_id": d.assessment_id,
            "decision": d.decision,
            "officer_id": d.officer_id,
            "note": d.note,
        }
    )


def screening_fingerprint(pseudo: Pseudonymizer, s: Screening) -> str:
    return f"{VERSION}:{pseudo.digest('request', VERSION, screening_encoding(s))}"


def decision_fingerprint(pseudo: Pseudonymizer, request_id: str, d: DecisionRecord) -> str:
    return f"{VERSION}:{pseudo.digest('decision', VERSION, decision_encoding(request_id, d))}"


def same_screening(pseudo: Pseudonymizer, stored: str, s: Screening) -> bool:
    """Whether a stored fingerprint, of any version, is that of ``s``."""
    if stored.startswith(VERSION + ":"):
        return stored == screening_fingerprint(pseudo, s)
    # Stored before fingerprints were versioned: the digest of the dataclasses' repr,
    # which named every field in order; still the same for requests of that time.
    return stored == pseudo.digest("request", repr(s))
