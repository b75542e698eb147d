"""The PAXLST mapping of the API manifest spec: passenger lists into screening-ready records."""

from __future__ import annotations

import datetime as dt

from departure_screening.countries import COUNTRY_CODES
from departure_screening.paxlst.airports import airport_country
from departure_screening.paxlst.alpha3 import ALPHA3_TO_ALPHA2
from departure_screening.paxlst.envelope import Seg, error, messages, parse
from departure_screening.paxlst.model import (
    Flight,
    FlightManifest,
    PassengerRecord,
    PaxlstFile,
    Rejection,
)
from departure_screening.paxlst.scan import PaxlstSyntaxError, decode, scan
from departure_screening.privacy.masking import mask_number

PASSENGER_LIST = "745"
CREW_LIST = "250"

__all__ = [
    "Flight",
    "FlightManifest",
    "PassengerRecord",
    "PaxlstFile",
    "PaxlstSyntaxError",
    "Rejection",
    "read_paxlst",
]


class _Rejected(Exception):
    """One passenger cannot be read; the rest of the list still is."""


def read_paxlst(data: bytes) -> PaxlstFile:
    """Read one interchange; a syntax error raises and nothing of the file is returned."""
    text, skipped, encoding = decode(data)
    unb, found = messages(parse(scan(text, skipped, encoding)))
    manifests: list[FlightManifest] = []
    crew = 0
    for message in found:
        bgm = next((s for s in message if s.tag == "BGM"), None)
        if bgm is None:
            raise error("message without BGM", message[0])
        code = bgm.el(0, 0)
        if code == CREW_LIST:
            crew += 1
        elif code == PASSENGER_LIST:
            manifests.append(_read_passenger_list(message))
        else:
            raise error(f"BGM+{code} is neither a passenger (745) nor a crew (250) list", bgm)
    return PaxlstFile(unb.el(4), tuple(manifests), crew)


def _read_passenger_list(message: list[Seg]) -> FlightManifest:
    starts = [i for i, s in enumerate(message) if s.tag == "NAD" and s.el(0) == "FL"]
    first = starts[0] if starts else len(message)
    flight = _read_flight(message[:first], message[0])
    ends = [*starts[1:], _end_of_passengers(message, first)]
    passengers: list[PassengerRecord | Rejection] = []
    for ordinal, (start, end) in enumerate(zip(starts, ends, strict=True), start=1):
        group = message[start:end]
        try:
            passengers.append(_read_passenger(ordinal, group, flight))
        except _Rejected as why:
            passengers.append(
                Rejection(ordinal, group[0].index, str(why), mask_number(_passport(group)))
            )
    return FlightManifest(message[0].el(0), flight, tuple(passengers))


def _end_of_passengers(message: list[Seg], first: int) -> int:
    for i in range(first, len(message)):
        if message[i].tag in ("CNT", "UNT"):
            return i
    return len(message)


def _read_flight(head: list[Seg], unh: Seg) -> Flight:
    tdt = next((s for s in head if s.tag == "TDT" and s.el(0) == "20"), None)
    if tdt is None or not tdt.el(1):
        raise error("passenger list without TDT+20 flight", tdt or unh)
    departure: Seg | None = None
    arrival: Seg | None = None
    departure_date: dt.date | None = None
    previous: Seg | None = None
    for seg in head:
        if seg.tag == "LOC" and seg.el(0) == "125" and departure is None:
            departure = seg
        elif seg.tag == "LOC" and seg.el(0) == "87" and arrival is None:
            arrival = seg
        elif seg.tag == "DTM" and seg.el(0, 0) == "189" and previous is departure and departure:
            departure_date = _flight_date(seg)
        previous = seg
    if departure is None:
        raise error("passenger list without LOC+125 departure airport", tdt)
    if departure_date is None:
        raise error("no DTM+189 departure date after LOC+125", departure)
    departure_country = airport_country(departure.el(1))
    if departure_country is None:
        raise error(f"unknown departure airport {departure.el(1)}", departure)
    arrival_airport = arrival.el(1).upper() if arrival else ""
    return Flight(
        flight_number=tdt.el(1).replace(" ", "").upper(),
        departure_date=departure_date,
        departure_airport=departure.el(1).upper(),
        departure_country=departure_country,
        arrival_airport=arrival_airport,
        arrival_country=airport_country(arrival_airport) if arrival_airport else None,
        checkpoint_hint=departure.el(1).upper(),
    )


def _flight_date(seg: Seg) -> dt.date:
    value, fmt = seg.el(0, 1), seg.el(0, 2)
    digits = {"201": 10, "203": 12, "101": 6, "102": 8}.get(fmt, len(value))
    try:
        if len(value) != digits or not value.isdigit():
            raise ValueError(value)
        if digits in (10, 6):
            # A flight date is never in the last century.
            return dt.date(2000 + int(value[:2]), int(value[2:4]), int(value[4:6]))
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        raise error("bad DTM+189 departure date", seg) from None


def _past_date(seg: Seg, departure: dt.date, what: str) -> dt.date:
    """A date before departure: a two-digit year takes the century that keeps it so."""
    value = seg.el(0, 1)
    try:
        if not value.isdigit():
            raise ValueError(value)
        if len(value) == 8:
            return dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
        if len(value) != 6:
            raise ValueError(value)
        year, month, day = int(value[:2]), int(value[2:4]), int(value[4:6])
        date = dt.date(2000 + year, month, day)
        return date if date <= departure else dt.date(1900 + year, month, day)
    except ValueError:
        raise _Rejected(f"bad {what} date (DTM+{seg.el(0, 0)})") from None


def _passport(group: list[Seg]) -> str:
    doc = next((s for s in group if s.tag == "DOC" and s.el(0, 0) == "P"), None)
    return doc.el(1).strip().upper() if doc else ""


def _country_of(code: str) -> str:
    country = airport_country(code)
    if country is None or country not in COUNTRY_CODES:
        raise _Rejected(f"unknown airport {code or '(empty)'}")
    return country


def _read_passenger(ordinal: int, group: list[Seg], flight: Flight) -> PassengerRecord:
    names = group[0].parts(3)
    birth_date: dt.date | None = None
    issue_date: dt.date | None = None
    nationality = ""
    final = transit_to = booking = ""
    passport = ""
    document = ""  # the type of the document group we are in, "" before the first DOC
    for seg in group[1:]:
        if seg.tag == "DOC":
            document = seg.el(0, 0)
            if document == "P" and not passport:
                passport = seg.el(1).strip().upper()
        elif seg.tag == "DTM" and seg.el(0, 0) == "329" and not document:
            birth_date = _past_date(seg, flight.departure_date, "birth")
        elif seg.tag == "DTM" and seg.el(0, 0) == "182" and document == "P":
            issue_date = issue_date or _past_date(seg, flight.departure_date, "passport issue")
        elif seg.tag == "NAT" and seg.el(0) == "2":
            nationality = seg.el(1).strip().upper()
        elif seg.tag == "LOC" and seg.el(0) == "22" and not document:
            final = seg.el(1).strip().upper()
        elif seg.tag == "LOC" and seg.el(0) == "179" and not document:
            transit_to = seg.el(1).strip().upper()
        elif seg.tag == "RFF" and seg.el(0, 0) == "AVF":
            booking = seg.el(0, 1).strip().upper()
    if not passport:
        raise _Rejected("no passport document (DOC+P)")
    if not nationality:
        raise _Rejected("no nationality (NAT+2)")
    if ALPHA3_TO_ALPHA2.get(nationality) not in COUNTRY_CODES:
        raise _Rejected(f"unknown nationality {nationality}")
    if birth_date is None:
        raise _Rejected("no birth date (DTM+329)")
    destination_airport = final or transit_to or flight.arrival_airport
    destination = _country_of(destination_airport)
    arrival = _country_of(flight.arrival_airport) if flight.arrival_airport else destination
    return PassengerRecord(
        ordinal=ordinal,
        passport_number=passport,
        nationality=ALPHA3_TO_ALPHA2[nationality],
        birth_date=birth_date,
        passport_issue_date=issue_date,
        flight_number=flight.flight_number,
        departure_date=flight.departure_date,
        destination_country=destination,
        transit_countries=(arrival,) if arrival != destination else (),
        booking_reference=booking,
        surname=names[0].strip() if names else "",
        given_names=" ".join(n.strip() for n in names[1:] if n.strip()),
    )
