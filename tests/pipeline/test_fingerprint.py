"""The request fingerprint is a versioned, explicit encoding, pinned by golden values."""

from __future__ import annotations

import dataclasses
import datetime as dt

from departure_screening.domain import DecisionRecord, Declaration, Screening, Traveller, Trip
from departure_screening.pipeline import fingerprint
from departure_screening.privacy.pseudonym import Pseudonymizer
from hypothesis import given
from hypothesis import strategies as st

KEY = Pseudonymizer(b"golden-fingerprint-key-32-bytes!")
SCREENING = Screening(
    request_id="CGK-2026-03-01-000123",
    checkpoint="CGK",
    mode="MODE_LIVE",
    traveller=Traveller("C1234567", "ID", dt.date(2003, 5, 1), dt.date(2026, 2, 10)),
    trip=Trip("QZ262", dt.date(2026, 3, 1), "KH", ("SG",), False, "ABC123", "E7654321", ""),
    declaration=Declaration("PURPOSE_TOURISM", "VISA_TYPE_VISA_EXEMPT"),
    observations=("OBSERVATION_CARRIES_JOB_OFFER",),
    officer_id="officer-17",
)
# Changing either value breaks every retry of a request stored before the change:
# a new encoding is a new version, with the old one kept for comparison.
GOLDEN_ENCODING = (
    '{"checkpoint":"CGK","declaration":{"bp2mi_registration_number":"",'
    '"disnaker_recommendation_number":"","purpose":"PURPOSE_TOURISM",'
    '"visa_type":"VISA_TYPE_VISA_EXEMPT"},"mode":"MODE_LIVE",'
    '"observations":["OBSERVATION_CARRIES_JOB_OFFER"],"officer_id":"officer-17",'
    '"request_id":"CGK-2026-03-01-000123","traveller":{"birth_date":"2003-05-01",'
    '"nationality":"ID","passport_issue_date":"2026-02-10","passport_number":"C1234567"},'
    '"trip":{"booking_reference":"ABC123","departure_date":"2026-03-01",'
    '"destination_country":"KH","escort_passport_number":"E7654321","flight_number":"QZ262",'
    '"has_return_ticket":false,"tour_operator_license":"","transit_countries":["SG"]}}'
)
GOLDEN_FINGERPRINT = "f1:cedfe4f815e8e662144c1aefd45348482398778272b0c6fd37395045247f4398"
# What the service stored before fingerprints were versioned (a digest of repr()).
LEGACY_FINGERPRINT = "433c894888190d08836426ad83ded0b756607cbf31d5a61799607f7ee115734d"


def test_the_encoding_and_fingerprint_are_pinned() -> None:
    assert fingerprint.screening_encoding(SCREENING) == GOLDEN_ENCODING
    assert fingerprint.screening_fingerprint(KEY, SCREENING) == GOLDEN_FINGERPRINT


def test_fingerprints_stored_before_versioning_still_match() -> None:
    assert fingerprint.same_screening(KEY, LEGACY_FINGERPRINT, SCREENING)
    assert fingerprint.same_screening(KEY, GOLDEN_FINGERPRINT, SCREENING)
    other = dataclasses.replace(SCREENING, officer_id="officer-18")
    assert not fingerprint.same_screening(KEY, LEGACY_FINGERPRINT, other)
    assert not fingerprint.same_screening(KEY, GOLDEN_FINGERPRINT, other)


def test_a_decision_fingerprint_leaves_out_the_time_stamped_by_the_service() -> None:
    at = dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC)
    d = DecisionRecord("a1", "DECISION_POSTPONED", "officer-17", "no letter", at, request_id="r1")
    later = dataclasses.replace(d, decided_at=at + dt.timedelta(seconds=5))
    assert fingerprint.decision_fingerprint(KEY, "r1", d) == (
        fingerprint.decision_fingerprint(KEY, "r1", later)
    )
    assert fingerprint.decision_fingerprint(KEY, "r1", d) != (
        fingerprint.decision_fingerprint(KEY, "r1", dataclasses.replace(d, note="other"))
    )


texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)


@given(a=texts, b=texts)
def test_different_content_gives_a_different_fingerprint(a: str, b: str) -> None:
    first = dataclasses.replace(SCREENING, officer_id=a)
    second = dataclasses.replace(SCREENING, officer_id=b)
    same = fingerprint.screening_fingerprint(KEY, first) == (
        fingerprint.screening_fingerprint(KEY, second)
    )
    assert same == (a == b)


@given(note=texts)
def test_no_field_text_can_forge_another_field(note: str) -> None:
    """Values are JSON strings: no separator in a value shifts content between fields."""
    moved = dataclasses.replace(
        SCREENING,
        officer_id=SCREENING.officer_id + note,
        declaration=dataclasses.replace(SCREENING.declaration, bp2mi_registration_number=""),
    )
    if note:
        assert fingerprint.screening_encoding(moved) != GOLDEN_ENCODING
