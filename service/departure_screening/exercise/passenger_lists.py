"""An exercise's flights as the airlines would send them: PAXLST first, the counter later.

For a scenario with ``heads_up: true``, every flight of the generated travellers is
written as a PAXLST passenger list with only what API carries (passport, nationality,
birth and issue dates, final destination, booking), screened through ``ScreenManifest``
as preliminary screenings in training mode, and each traveller's heads-up entry is shown
beside the counter in the drill. The counter screening then supersedes it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import airportsdata

from departure_screening.exercise.generate import GeneratedTraveller, to_date
from departure_screening.manifest.headsup import BANNER, HeadsUp, Traveller
from departure_screening.manifest.screen import FlightJob, file_digest, screen_flight
from departure_screening.paxlst import read_paxlst
from departure_screening.paxlst.airports import airport_country
from departure_screening.paxlst.alpha3 import ALPHA3_TO_ALPHA2
from departure_screening.v1 import screening_pb2_grpc as pb_grpc

# The airport a carrier flies to in each country the scenarios name; others take the
# first IATA code of the country in the airport dataset.
HUBS = {
    "KH": "PNH", "MY": "KUL", "SG": "SIN", "TH": "BKK", "JP": "NRT", "KR": "ICN",
    "VN": "SGN", "LA": "VTE", "MM": "RGN", "SA": "JED", "TR": "IST", "TW": "TPE",
    "HK": "HKG", "CN": "PEK", "GB": "LHR", "NL": "AMS", "AU": "SYD", "AE": "DXB",
    "QA": "DOH", "PH": "MNL",
}  # fmt: skip
_ALPHA3 = {two: three for three, two in ALPHA3_TO_ALPHA2.items()}


@cache
def hub(country: str) -> str:
    if country in HUBS:
        return HUBS[country]
    codes = sorted(
        code
        for code, row in airportsdata.load("IATA").items()
        if row["country"] == country and len(code) == 3
    )
    if not codes:
        raise ValueError(f"no airport known for {country}")
    return codes[0]


@dataclass(frozen=True, slots=True)
class PassengerList:
    """One flight's PAXLST file and, in its order, the travellers' indexes."""

    checkpoint: str
    data: bytes
    travellers: tuple[int, ...]


def passenger_lists(travellers: Sequence[GeneratedTraveller]) -> list[PassengerList]:
    """One PAXLST interchange per flight and date; land crossings have none."""
    flights: dict[tuple[str, str, dt.date], list[int]] = defaultdict(list)
    for index, item in enumerate(travellers):
        s = item.screening
        if airport_country(s.checkpoint) is not None:
            key = (s.checkpoint, s.trip.flight_number, to_date(s.trip.departure_date))
            flights[key].append(index)
    out = []
    for (checkpoint, flight, day), indexes in sorted(flights.items()):
        data = _interchange(checkpoint, flight, day, [travellers[i] for i in indexes])
        out.append(PassengerList(checkpoint, data, tuple(indexes)))
    return out


def _first_leg(item: GeneratedTraveller) -> str:
    trip = item.screening.trip
    return trip.transit_countries[0] if trip.transit_countries else trip.destination_country


def _interchange(
    checkpoint: str, flight: str, day: dt.date, party: Sequence[GeneratedTraveller]
) -> bytes:
    # A flight lands in one place: where most of its passengers first land.
    arrival = hub(Counter(_first_leg(p) for p in party).most_common(1)[0][0])
    body = [
        "NAD+MS+++EXERCISE API",
        f"TDT+20+{flight}+++{flight[:2]}",
        f"LOC+125+{checkpoint}",
        f"DTM+189:{day:%y%m%d}0800:201",
        f"LOC+87+{arrival}",
    ]
    for ordinal, item in enumerate(party, start=1):
        body += _passenger(ordinal, item, checkpoint)
    segs = ["UNH+M1+PAXLST:D:05B:UN:IATA", "BGM+745", *body, f"CNT+42:{len(party)}"]
    segs.append(f"UNT+{len(segs) + 1}+M1")
    ref = f"EX{day:%y%m%d}{flight}"[:14]
    envelope = [f"UNB+UNOA:4+EXERCISE:ZZ+IDIMIGRASI:ZZ+{day:%y%m%d}:0600+{ref}", *segs]
    envelope.append(f"UNZ+1+{ref}")
    return "".join(s + "'" for s in envelope).encode()


def _passenger(ordinal: int, item: GeneratedTraveller, checkpoint: str) -> list[str]:
    s = item.screening
    nationality = _ALPHA3.get(s.traveller.nationality, "IDN")
    segs = [
        f"NAD+FL+++PAX{ordinal:04d}",  # the exercise has no names: a single-part one
        f"DTM+329:{to_date(s.traveller.birth_date):%y%m%d}",
        f"LOC+178+{checkpoint}",
        f"LOC+22+{hub(s.trip.destination_country)}",
        f"NAT+2+{nationality}",
    ]
    if s.trip.booking_reference:
        segs.append(f"RFF+AVF:{s.trip.booking_reference}")
    segs += [
        f"DOC+P:110:111+{s.traveller.passport_number}",
        f"DTM+182:{to_date(s.traveller.passport_issue_date):%y%m%d}",
        f"LOC+91+{nationality}",
    ]
    return segs


@dataclass(frozen=True, slots=True)
class HeadsUpScreened:
    lists: tuple[HeadsUp, ...]
    # Traveller index → its heads-up entry, for the drill to show beside the counter.
    entries: Mapping[int, Traveller]


def screen_passenger_lists(
    stub: pb_grpc.ScreeningServiceStub,
    travellers: Sequence[GeneratedTraveller],
    advance: Callable[[], None] = lambda: None,
) -> HeadsUpScreened:
    """Every flight's list through ``ScreenManifest`` as preliminary training screenings."""
    lists: list[HeadsUp] = []
    entries: dict[int, Traveller] = {}
    for plist in passenger_lists(travellers):
        for manifest in read_paxlst(plist.data).manifests:
            job = FlightJob(file_digest(plist.data), manifest)
            headsup = screen_flight(
                stub, job, checkpoint=plist.checkpoint, mode="training", advance=advance
            )
            lists.append(headsup)
            for entry in headsup.travellers:
                entries[plist.travellers[entry.ordinal - 1]] = entry
    return HeadsUpScreened(tuple(lists), entries)


def heads_up_line(entry: Traveller | None) -> str:
    """The drill's line beside the counter."""
    if entry is None:
        return "not on a passenger list screened before the counter"
    fired = ", ".join(entry.fired) if entry.fired else "no indicator"
    return (
        f"{entry.band} {entry.score} from the passenger list ({fired}; "
        f"{len(entry.not_evaluated)} indicators not evaluated). {BANNER}"
    )
