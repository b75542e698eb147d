import datetime as dt

import pytest
from departure_screening.paxlst import PassengerRecord, read_paxlst
from support.paxlst_builder import interchange, message, one, passenger


def _records(data: bytes) -> list[PassengerRecord]:
    [manifest] = read_paxlst(data).manifests
    out = [p for p in manifest.passengers if isinstance(p, PassengerRecord)]
    assert len(out) == len(manifest.passengers)
    return out


def test_functional_groups() -> None:
    data = interchange(message(passenger(), passenger(number="C7654321")), groups=True)
    assert b"UNG+" in data and b"UNE+" in data
    assert [r.passport_number for r in _records(data)] == ["C1234567", "C7654321"]


def test_release_character() -> None:
    [record] = _records(one(passenger(name="O?'BRIEN:SEAN?+PATRICK", number="P12?:34")))
    assert (record.surname, record.given_names) == ("O'BRIEN", "SEAN+PATRICK")
    assert record.passport_number == "P12:34"


def test_single_part_name() -> None:
    [record] = _records(one(passenger(name="SUPARMAN")))
    assert (record.surname, record.given_names) == ("SUPARMAN", "")


@pytest.mark.parametrize(
    "prefix", [b"\xef\xbb\xbf", b"\r\n  \t", b"\xef\xbb\xbf\r\n", b"\n"], ids=repr
)
def test_bom_and_leading_whitespace(prefix: bytes) -> None:
    [record] = _records(prefix + one(passenger()))
    assert record.passport_number == "C1234567"


def test_without_una_default_service_characters() -> None:
    [record] = _records(interchange(message(passenger()), una=False))
    assert record.passport_number == "C1234567"


def test_segments_on_their_own_lines() -> None:
    data = one(passenger()).replace(b"'", b"'\r\n").replace(b"UNA:+.? '\r\n", b"UNA:+.? '\n")
    assert _records(data)[0].passport_number == "C1234567"


@pytest.mark.parametrize(
    ("yymmdd", "expected"),
    [
        ("850412", dt.date(1985, 4, 12)),
        ("100412", dt.date(2010, 4, 12)),
        ("260311", dt.date(2026, 3, 11)),  # a newborn, the day before the flight
        ("260313", dt.date(1926, 3, 13)),  # a day after the flight: a century earlier
        ("19850412", dt.date(1985, 4, 12)),
    ],
)
def test_two_digit_years_take_the_century_from_the_departure(
    yymmdd: str, expected: dt.date
) -> None:
    [record] = _records(one(passenger(birth=yymmdd)))
    assert record.birth_date == expected


def test_issue_date_century() -> None:
    [record] = _records(one(passenger(issue="991231")))
    assert record.passport_issue_date == dt.date(1999, 12, 31)
