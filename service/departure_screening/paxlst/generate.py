"""Realistic PAXLST messages for tests and exercises, deterministic by seed, with ground truth.

``python -m departure_screening.paxlst.generate --seed 7 --passengers 180 > flight.edi``
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from departure_screening.paxlst.airports import airport_country

# Departure airports with the carriers that fly out of them, and where they fly.
ROUTES: dict[str, tuple[tuple[str, str], ...]] = {
    "CGK": (("GA", "KUL"), ("GA", "SIN"), ("QZ", "BKK"), ("VJ", "SGN"), ("QZ", "KTI")),
    "SUB": (("QZ", "KUL"), ("TR", "SIN"), ("QZ", "SIN")),
    "KNO": (("AK", "KUL"), ("QZ", "KUL"), ("TR", "SIN")),
    "DPS": (("TR", "SIN"), ("VJ", "SGN"), ("FD", "BKK"), ("AK", "KUL")),
}
# Onward destinations a booking continues to from the flight's arrival airport.
ONWARD: dict[str, tuple[str, ...]] = {
    "KUL": ("PNH", "KTI", "SAI", "BKK", "SGN"),
    "SIN": ("PNH", "SAI", "SGN", "BKK"),
    "BKK": ("PNH", "SAI"),
    "SGN": ("PNH",),
    "KTI": (),
}
GIVEN = ("AGUS", "SITI", "DEWI", "BUDI", "RINA", "EKO", "NURUL", "WAHYU", "SRI", "ADI", "PUTRI")
FAMILY = ("SANTOSO", "WIJAYA", "HASANAH", "PRATAMA", "LESTARI", "SETIAWAN", "RAHAYU", "HIDAYAT")
SINGLE = ("SUPARMAN", "SUKARNO", "MULYONO", "TUKIYEM", "PAIJO")
FOREIGN: tuple[tuple[str, str, str], ...] = (
    ("O'BRIEN", "SEAN", "IRL"),
    ("TAN", "WEI MING", "SGP"),
    ("NGUYEN", "VAN AN", "VNM"),
    # A carrier's system that let a plus sign into a name field; it is sent released.
    ("AHMAD+ZAKI", "MOHD", "MYS"),
    ("SMITH", "JANE", "AUS"),
    ("MUELLER", "JONAS", "DEU"),
)
ALPHA2_OF = {"IRL": "IE", "SGP": "SG", "VNM": "VN", "MYS": "MY", "AUS": "AU", "DEU": "DE"}


@dataclass(frozen=True, slots=True)
class TruePassenger:
    """What a reader must find for one passenger (``rejected`` when it must refuse)."""

    surname: str
    given_names: str
    passport_number: str
    nationality: str
    birth_date: dt.date
    passport_issue_date: dt.date | None
    destination_country: str
    transit_countries: tuple[str, ...]
    booking_reference: str
    rejected: str = ""


@dataclass(frozen=True, slots=True)
class Generated:
    data: bytes = field(repr=False)
    flight_number: str
    departure_date: dt.date
    departure_airport: str
    arrival_airport: str
    passengers: tuple[TruePassenger, ...]
    crew_lists: int
    quirks: frozenset[str]


def escape(text: str) -> str:
    """The release character before each service character in free text."""
    for ch in "?'+:":
        text = text.replace(ch, "?" + ch)
    return text


def generate(seed: int, passengers: int | None = None) -> Generated:
    rng = random.Random(seed)
    departure_airport = rng.choice(sorted(ROUTES))
    carrier, arrival = rng.choice(ROUTES[departure_airport])
    flight = f"{carrier}{rng.randint(100, 999)}"
    departure = dt.datetime(2026, 1, 1, 6) + dt.timedelta(
        days=rng.randrange(365), hours=rng.randrange(16)
    )
    quirks = {
        q for q in ("functional_group", "una", "bom", "newlines", "crew") if rng.random() < 0.5
    }
    quirks |= {"missing_issue_date"} if rng.random() < 0.3 else set()
    quirks.add("D:02B" if rng.random() < 0.3 else "D:05B")
    count = passengers if passengers is not None else rng.randint(5, 60)

    truth: list[TruePassenger] = []
    pax_segments: list[str] = []
    used: set[str] = set()
    group_dest: tuple[str, str] = ("", "")
    group_left = 0
    # The case that matters most: three recruits on one reservation onward from KUL to PNH.
    recruits = 3 if arrival == "KUL" and count >= 3 else 0
    if recruits:
        group_left, group_dest = recruits, (_booking(rng), "PNH")
    while len(truth) < count:
        if group_left == 0 and rng.random() < 0.25:
            onward = ONWARD.get(arrival, ())
            final = rng.choice(onward) if onward and rng.random() < 0.6 else ""
            group_left, group_dest = rng.randint(2, 5), (_booking(rng), final)
        if group_left:
            booking, final = group_dest
            group_left -= 1
        else:
            booking, final = _booking(rng), ""
        recruit = len(truth) < recruits
        segs, person = _passenger(
            rng, departure_airport, arrival, final, booking, departure, used, recruit=recruit
        )
        if "missing_issue_date" in quirks:
            segs = [s for s in segs if not s.startswith("DTM+182")]
            person = _replace_issue(person)
        pax_segments += segs
        truth.append(person)

    version = "D:02B" if "D:02B" in quirks else "D:05B"
    head = _flight_head(flight, carrier, departure_airport, arrival, departure)
    messages = [_message("PAX1", "745", version, head + pax_segments + [f"CNT+42:{count}"])]
    crew = 0
    if "crew" in quirks:
        crew_segs = head + [s for i in range(3) for s in _crew(rng, i, departure_airport)]
        messages.append(_message("CRW1", "250", version, [*crew_segs, "CNT+41:3"]))
        crew = 1
    data = _interchange(messages, version, "functional_group" in quirks, departure, seed)
    nl = "\n" if "newlines" in quirks else ""
    text = nl.join(s + "'" for s in data)
    if "una" in quirks:
        text = "UNA:+.? '" + nl + text
    raw = text.encode("utf-8")
    if "bom" in quirks:
        raw = b"\xef\xbb\xbf" + (b"\r\n" if rng.random() < 0.5 else b"") + raw
    return Generated(
        raw,
        flight,
        departure.date(),
        departure_airport,
        arrival,
        tuple(truth),
        crew,
        frozenset(quirks),
    )


def generate_bytes(seed: int, passengers: int | None = None) -> bytes:
    return generate(seed, passengers).data


def _booking(rng: random.Random) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))


def _replace_issue(p: TruePassenger) -> TruePassenger:
    return TruePassenger(
        p.surname, p.given_names, p.passport_number, p.nationality, p.birth_date, None,
        p.destination_country, p.transit_countries, p.booking_reference, p.rejected,
    )  # fmt: skip


def _expiry(issue: dt.date) -> dt.date:
    return issue + dt.timedelta(days=3652)


def _yymmdd(d: dt.date) -> str:
    return d.strftime("%y%m%d")


def _passenger(
    rng: random.Random,
    origin: str,
    arrival: str,
    final: str,
    booking: str,
    departure: dt.datetime,
    used: set[str],
    *,
    recruit: bool = False,
) -> tuple[list[str], TruePassenger]:
    # Recruits are Indonesians travelling on passports.
    roll = 1.0 if recruit else rng.random()
    if roll < 0.12:
        surname, given, nat3 = rng.choice(FOREIGN)
        nat2 = ALPHA2_OF[nat3]
    elif roll < 0.22:
        surname, given, nat3, nat2 = rng.choice(SINGLE), "", "IDN", "ID"
    else:
        surname, given, nat3, nat2 = rng.choice(FAMILY), rng.choice(GIVEN), "IDN", "ID"
    passport = ""
    while not passport or passport in used:
        passport = rng.choice("ABCE") + f"{rng.randrange(10**7):07d}"
    used.add(passport)
    day = departure.date()
    age_days = (
        rng.randrange(2 * 365, 20 * 365)
        if rng.random() < 0.1
        else rng.randrange(18 * 365, 66 * 365)
    )
    birth = day - dt.timedelta(days=age_days)
    issue = day - dt.timedelta(days=rng.randrange(30, 9 * 365))
    name = escape(surname) + (":" + escape(given) if given else "")
    segs = [f"NAD+FL+++{name}", f"ATT+2++{rng.choice('MF')}", f"DTM+329:{_yymmdd(birth)}"]
    segs += [f"LOC+178+{origin}", f"LOC+179+{arrival}"]
    if final:
        segs.append(f"LOC+22+{final}")
    segs += [f"NAT+2+{nat3}", f"RFF+AVF:{booking}"]
    rejected = ""
    if rng.random() < 0.03 and not recruit:
        # A national identity card only: API carries it, screening needs a passport.
        segs += [f"DOC+I:110:111+{passport}", f"DTM+36:{_yymmdd(_expiry(issue))}"]
        rejected = "no passport document (DOC+P)"
    else:
        segs += [f"DOC+P:110:111+{passport}", f"DTM+36:{_yymmdd(_expiry(issue))}"]
        segs.append(f"DTM+182:{_yymmdd(issue)}")
    segs.append(f"LOC+91+{nat3}")
    dest = airport_country(final or arrival) or ""
    via = airport_country(arrival) or ""
    person = TruePassenger(
        surname, given, passport, nat2, birth, issue, dest,
        (via,) if via != dest else (), booking, rejected,
    )  # fmt: skip
    return segs, person


def _crew(rng: random.Random, i: int, origin: str) -> list[str]:
    passport = "X" + f"{rng.randrange(10**7):07d}"
    return [
        f"NAD+FM+++{rng.choice(FAMILY)}:{rng.choice(GIVEN)}",
        f"DTM+329:{_yymmdd(dt.date(1980 + i, 1 + i, 10))}",
        "NAT+2+IDN",
        f"DOC+P:110:111+{passport}",
        "LOC+91+IDN",
    ]


def _flight_head(
    flight: str, carrier: str, origin: str, arrival: str, departure: dt.datetime
) -> list[str]:
    landing = departure + dt.timedelta(hours=2, minutes=40)
    return [
        "NAD+MS+++API OPERATIONS",
        "COM+622150505:TE",
        f"TDT+20+{flight}+++{carrier}",
        f"LOC+125+{origin}",
        f"DTM+189:{departure:%y%m%d%H%M}:201",
        f"LOC+87+{arrival}",
        f"DTM+232:{landing:%y%m%d%H%M}:201",
    ]


def _message(ref: str, kind: str, version: str, body: list[str]) -> list[str]:
    directory, release = version.split(":")
    segs = [f"UNH+{ref}+PAXLST:{directory}:{release}:UN:IATA", f"BGM+{kind}", *body]
    return [*segs, f"UNT+{len(segs) + 1}+{ref}"]


def _interchange(
    messages: list[list[str]], version: str, grouped: bool, when: dt.datetime, seed: int
) -> list[str]:
    stamp = (when - dt.timedelta(hours=2)).strftime("%y%m%d:%H%M")
    ref = f"IC{seed % 10**8:08d}"
    out = [f"UNB+UNOA:4+CARRIERAPI:ZZ+IDIMIGRASI:ZZ+{stamp}+{ref}"]
    body = [s for m in messages for s in m]
    if grouped:
        directory, release = version.split(":")
        out += [f"UNG+PAXLST+CARRIERAPI+IDIMIGRASI+{stamp}+G1+UN+{directory}:{release}", *body]
        out += [f"UNE+{len(messages)}+G1", f"UNZ+1+{ref}"]
    else:
        out += [*body, f"UNZ+{len(messages)}+{ref}"]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--passengers", type=int)
    args = parser.parse_args(argv)
    sys.stdout.buffer.write(generate_bytes(args.seed, args.passengers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
