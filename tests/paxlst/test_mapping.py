import datetime as dt

import pytest
from departure_screening.domain import Traveller, Trip
from departure_screening.paxlst import PassengerRecord, read_paxlst
from support.paxlst_builder import interchange, message, one, passenger


def _only(data: bytes) -> PassengerRecord:
    [manifest] = read_paxlst(data).manifests
    [record] = manifest.passengers
    assert isinstance(record, PassengerRecord)
    return record


def test_every_mapped_field() -> None:
    result = read_paxlst(one(passenger()))
    [manifest] = result.manifests
    flight = manifest.flight
    assert (flight.flight_number, flight.departure_date) == ("GA820", dt.date(2026, 3, 12))
    assert (flight.departure_airport, flight.departure_country) == ("CGK", "ID")
    assert (flight.arrival_airport, flight.arrival_country) == ("KUL", "MY")
    assert flight.checkpoint_hint == "CGK"
    [record] = manifest.passengers
    assert isinstance(record, PassengerRecord)
    assert record.passport_number == "C1234567"
    assert record.nationality == "ID"
    assert record.birth_date == dt.date(1985, 4, 12)
    assert record.passport_issue_date == dt.date(2020, 1, 15)
    assert record.flight_number == "GA820"
    assert record.departure_date == dt.date(2026, 3, 12)
    assert record.destination_country == "KH"
    assert record.transit_countries == ("MY",)
    assert record.booking_reference == "ABC123"
    assert (record.surname, record.given_names) == ("SANTOSO", "AGUS")


def test_domain_values() -> None:
    record = _only(one(passenger()))
    assert record.traveller() == Traveller(
        "C1234567", "ID", dt.date(1985, 4, 12), dt.date(2020, 1, 15)
    )
    assert record.trip() == Trip(
        "GA820", dt.date(2026, 3, 12), "KH", ("MY",), booking_reference="ABC123"
    )


def test_destination_falls_back_to_debarkation_then_flight_arrival() -> None:
    via_179 = _only(one(passenger(final=None, debark="BKK")))
    assert (via_179.destination_country, via_179.transit_countries) == ("TH", ("MY",))
    via_flight = _only(one(passenger(final=None, debark=None)))
    assert (via_flight.destination_country, via_flight.transit_countries) == ("MY", ())


def test_no_transit_when_the_flight_lands_in_the_destination_country() -> None:
    record = _only(one(passenger(final="KUL")))
    assert (record.destination_country, record.transit_countries) == ("MY", ())


def test_issue_date_optional() -> None:
    record = _only(one(passenger(issue=None)))
    assert record.passport_issue_date is None
    assert record.traveller() is None
    assert record.booking_reference == "ABC123"


def test_other_document_types_are_ignored() -> None:
    visa = ["DOC+V:110:111+V9999999", "DTM+182:250101", "LOC+91+MYS"]
    record = _only(one([*passenger(issue=None), *visa]))
    assert record.passport_number == "C1234567"
    # The visa's issue date is not the passport's.
    assert record.passport_issue_date is None
    visa_first = passenger()
    at = visa_first.index("DOC+P:110:111+C1234567")
    record = _only(one([*visa_first[:at], *visa, *visa_first[at:]]))
    assert (record.passport_number, record.passport_issue_date) == (
        "C1234567",
        dt.date(2020, 1, 15),
    )


@pytest.mark.parametrize("version", ["D:05B", "D:02B"])
def test_both_directories(version: str) -> None:
    assert _only(interchange(message(passenger(), version=version))).passport_number == "C1234567"


def test_nationality_alpha3_to_alpha2() -> None:
    assert _only(one(passenger(nat="KHM"))).nationality == "KH"
    assert _only(one(passenger(nat="D"))).nationality == "DE"


def test_four_digit_flight_date_and_booking_absent() -> None:
    flight = ["TDT+20+QZ 262", "LOC+125+SUB", "DTM+189:202603121030:203", "LOC+87+SIN"]
    record = _only(
        interchange(message(passenger(final=None, debark=None, booking=None), flight=flight))
    )
    assert (record.flight_number, record.departure_date) == ("QZ262", dt.date(2026, 3, 12))
    assert (record.destination_country, record.booking_reference) == ("SG", "")


def test_names_and_numbers_stay_out_of_repr() -> None:
    text = repr(_only(one(passenger())))
    assert "SANTOSO" not in text and "AGUS" not in text and "C1234567" not in text
