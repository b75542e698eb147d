"""Bad input: INVALID_ARGUMENT, one violation per bad field, and nothing changes."""

from __future__ import annotations

import datetime as dt
import itertools

import grpc
import pytest
from conftest import InProcessServer
from departure_screening.countries import COUNTRY_CODES
from departure_screening.v1 import screening_pb2 as pb
from google.type import date_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.builders import pb_date, screening
from support.rpc import bad_fields, sample_value


def refused_fields(server: InProcessServer, s: pb.Screening) -> list[str]:
    with pytest.raises(grpc.RpcError) as info:
        server.stub.Screen(pb.ScreenRequest(screening=s), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return bad_fields(info.value)


EXAMPLES = [
    ({"request_id": ""}, "screening.request_id"),
    ({"request_id": "has space"}, "screening.request_id"),
    ({"request_id": "x" * 65}, "screening.request_id"),
    ({"checkpoint": ""}, "screening.checkpoint"),
    ({"checkpoint": "LHR"}, "screening.checkpoint"),
    ({"mode": pb.MODE_UNSPECIFIED}, "screening.mode"),
    ({"mode": 7}, "screening.mode"),
    ({"officer_id": "o" * 65}, "screening.officer_id"),
    ({"traveller__passport_number": ""}, "screening.traveller.passport_number"),
    ({"traveller__passport_number": "c1234567"}, "screening.traveller.passport_number"),
    ({"traveller__passport_number": "C12"}, "screening.traveller.passport_number"),
    ({"traveller__nationality": "Indonesia"}, "screening.traveller.nationality"),
    ({"traveller__birth_date": "2026-03-02"}, "screening.traveller.birth_date"),
    ({"traveller__passport_issue_date": "2026-03-02"}, "screening.traveller.passport_issue_date"),
    ({"traveller__passport_issue_date": "1980-01-01"}, "screening.traveller.passport_issue_date"),
    ({"trip__flight_number": "G"}, "screening.trip.flight_number"),
    ({"trip__flight_number": "ga820"}, "screening.trip.flight_number"),
    ({"trip__destination_country": ""}, "screening.trip.destination_country"),
    ({"trip__destination_country": "kh"}, "screening.trip.destination_country"),
    ({"trip__destination_country": "XX"}, "screening.trip.destination_country"),
    ({"trip__transit_countries": ["MY", "QQ"]}, "screening.trip.transit_countries[1]"),
    ({"trip__transit_countries": ["MY"] * 9}, "screening.trip.transit_countries"),
    ({"trip__booking_reference": "B" * 17}, "screening.trip.booking_reference"),
    ({"trip__escort_passport_number": "e-1"}, "screening.trip.escort_passport_number"),
    ({"trip__tour_operator_license": "L" * 33}, "screening.trip.tour_operator_license"),
    ({"declaration__purpose": pb.PURPOSE_UNSPECIFIED}, "screening.declaration.purpose"),
    ({"declaration__visa_type": 99}, "screening.declaration.visa_type"),
    (
        {"declaration__disnaker_recommendation_number": "D\n1"},
        "screening.declaration.disnaker_recommendation_number",
    ),
    ({"observations": [pb.OBSERVATION_CARRIES_JOB_OFFER, 0]}, "screening.observations[1]"),
]


@pytest.mark.parametrize(("change", "field"), EXAMPLES)
def test_each_bad_field_is_named(shared_server: InProcessServer, change: dict, field: str) -> None:  # type: ignore[type-arg]
    assert refused_fields(shared_server, screening(**change)) == [field]


def test_impossible_dates_are_refused(shared_server: InProcessServer) -> None:
    s = screening()
    s.trip.departure_date.CopyFrom(date_pb2.Date(year=2026, month=2, day=30))
    s.traveller.birth_date.CopyFrom(date_pb2.Date(year=1990, month=13, day=1))
    assert sorted(refused_fields(shared_server, s)) == [
        "screening.traveller.birth_date",
        "screening.trip.departure_date",
    ]


def test_missing_parts_are_named(shared_server: InProcessServer) -> None:
    s = screening()
    s.ClearField("trip")
    s.ClearField("declaration")
    s.traveller.ClearField("birth_date")
    assert refused_fields(shared_server, s) == [
        "screening.trip",
        "screening.traveller.birth_date",
        "screening.declaration",
    ]
    with pytest.raises(grpc.RpcError) as info:
        shared_server.stub.Screen(pb.ScreenRequest(), timeout=10)
    assert bad_fields(info.value) == ["screening"]


def test_error_messages_never_repeat_a_passport_number(shared_server: InProcessServer) -> None:
    s = screening(traveller__passport_number="ab1234567", trip__escort_passport_number="zz999")
    with pytest.raises(grpc.RpcError) as info:
        shared_server.stub.Screen(pb.ScreenRequest(screening=s), timeout=10)
    text = str(info.value) + repr(info.value.trailing_metadata())
    assert "ab1234567" not in text and "zz999" not in text


def test_refused_request_changes_nothing(grpc_server: InProcessServer) -> None:
    good = screening(trip__escort_passport_number="E5550001", trip__flight_number="QZ100")
    bad = pb.Screening()
    bad.CopyFrom(good)
    bad.trip.destination_country = "??"
    refused_fields(grpc_server, bad)
    # The same request id is still free, and the group did not count the refused member.
    a = grpc_server.stub.Screen(pb.ScreenRequest(screening=good)).assessment
    assert a.group.members_screened == 1
    text = grpc_server.metrics_text()
    assert sample_value(text, "depscreen_screenings_total", {}) == 1
    assert (
        sample_value(
            text, "depscreen_rpc_requests_total", {"method": "Screen", "code": "INVALID_ARGUMENT"}
        )
        == 1
    )


# -- properties ------------------------------------------------------------

countries = st.sampled_from(sorted(COUNTRY_CODES))
departures = st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31))
passports = st.from_regex(r"[A-Z0-9<]{5,20}", fullmatch=True)


@st.composite
def valid_screenings(draw: st.DrawFn) -> pb.Screening:
    departure = draw(departures)
    birth = draw(st.dates(departure - dt.timedelta(days=90 * 365), departure))
    issued = draw(st.dates(birth, departure))
    return pb.Screening(
        request_id=draw(st.from_regex(r"[A-Za-z0-9._:-]{1,64}", fullmatch=True)),
        checkpoint=draw(
            st.sampled_from(["CGK", "SUB", "KNO", "DPS", "BTH", "YIA", "UPG", "ENTIKONG"])
        ),
        mode=draw(st.sampled_from([pb.MODE_LIVE, pb.MODE_TRAINING])),
        traveller=pb.Traveller(
            passport_number=draw(passports),
            nationality=draw(countries),
            birth_date=pb_date(birth),
            passport_issue_date=pb_date(issued),
        ),
        trip=pb.Trip(
            flight_number=draw(st.from_regex(r"[A-Z0-9]{2,10}", fullmatch=True)),
            departure_date=pb_date(departure),
            destination_country=draw(countries),
            transit_countries=draw(st.lists(countries, max_size=8)),
            has_return_ticket=draw(st.booleans()),
            escort_passport_number=draw(st.one_of(st.just(""), passports)),
            tour_operator_license=draw(st.text(max_size=32).filter(str.isprintable)),
        ),
        declaration=pb.Declaration(
            purpose=draw(st.integers(1, 7)),
            visa_type=draw(st.integers(1, 7)),
            disnaker_recommendation_number=draw(st.sampled_from(["", "DN-1"])),
            bp2mi_registration_number=draw(st.sampled_from(["", "BP-1"])),
        ),
        observations=draw(st.lists(st.integers(1, 4), max_size=4, unique=True)),
    )


_request_numbers = itertools.count()

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(s=valid_screenings())
def test_valid_screenings_never_error_and_stay_in_bounds(
    shared_server: InProcessServer, s: pb.Screening
) -> None:
    # Unique per example: a reused id with other content is ALREADY_EXISTS by contract.
    s.request_id = f"{next(_request_numbers)}-{s.request_id}"[:64]
    a = shared_server.stub.Screen(pb.ScreenRequest(screening=s), timeout=10).assessment
    assert 0 <= a.score <= 100
    expected_band = (
        pb.RISK_BAND_LOW
        if a.score < 30
        else pb.RISK_BAND_ELEVATED
        if a.score < 60
        else pb.RISK_BAND_HIGH
    )
    assert a.band == expected_band
    assert (
        a.recommended_action
        == {
            pb.RISK_BAND_LOW: pb.ACTION_PROCEED,
            pb.RISK_BAND_ELEVATED: pb.ACTION_SECONDARY_INTERVIEW,
            pb.RISK_BAND_HIGH: pb.ACTION_POSTPONE_PENDING_VERIFICATION,
        }[a.band]
    )
    weights = [i.weight for i in a.indicators]
    assert a.score == max(0, min(100, sum(weights)))
    assert [(-i.weight, i.code) for i in a.indicators] == sorted(
        (-i.weight, i.code) for i in a.indicators
    )
    evidence = " ".join(v for i in a.indicators for v in i.evidence.values())
    number = s.traveller.passport_number
    other_inputs = s.trip.flight_number + " " + s.trip.tour_operator_license
    # Digits alone can match a count; the same text given as a flight number is no leak.
    if any(c.isalpha() for c in number) and number not in other_inputs:
        assert number not in evidence


BREAKERS = {
    "screening.request_id": lambda s, v: setattr(
        s, "request_id", v.draw(st.sampled_from(["", "a b", "é", "x" * 65]))
    ),
    "screening.checkpoint": lambda s, v: setattr(
        s, "checkpoint", v.draw(st.sampled_from(["", "cgk", "XYZ"]))
    ),
    "screening.mode": lambda s, v: setattr(s, "mode", v.draw(st.sampled_from([0, 3, 42]))),
    "screening.traveller.passport_number": lambda s, v: setattr(
        s.traveller, "passport_number", v.draw(st.sampled_from(["", "abc12", "A" * 21, "A-123"]))
    ),
    "screening.trip.flight_number": lambda s, v: setattr(
        s.trip, "flight_number", v.draw(st.sampled_from(["", "A", "GA 820", "ABCDEFGHIJK"]))
    ),
    "screening.trip.destination_country": lambda s, v: setattr(
        s.trip, "destination_country", v.draw(st.sampled_from(["", "ZZ", "idn", "K"]))
    ),
    "screening.declaration.purpose": lambda s, v: setattr(
        s.declaration, "purpose", v.draw(st.sampled_from([0, 8, 100]))
    ),
    "screening.declaration.visa_type": lambda s, v: setattr(
        s.declaration, "visa_type", v.draw(st.sampled_from([0, 8]))
    ),
    "screening.traveller.birth_date": lambda s, v: s.traveller.birth_date.CopyFrom(
        date_pb2.Date(year=s.trip.departure_date.year + 1, month=1, day=1)
    ),
    "screening.trip.booking_reference": lambda s, v: setattr(s.trip, "booking_reference", "R" * 17),
}


@SETTINGS
@given(
    s=valid_screenings(),
    data=st.data(),
    broken=st.lists(st.sampled_from(sorted(BREAKERS)), min_size=1, max_size=4, unique=True),
)
def test_invalid_screenings_name_exactly_the_bad_fields(
    shared_server: InProcessServer, s: pb.Screening, data: st.DataObject, broken: list[str]
) -> None:
    if "screening.traveller.birth_date" in broken:
        s.traveller.passport_issue_date.CopyFrom(s.trip.departure_date)
    for field in broken:
        BREAKERS[field](s, data)
    assert sorted(refused_fields(shared_server, s)) == sorted(broken)
