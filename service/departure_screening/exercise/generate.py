"""Deterministic generation of an exercise's travellers from a scenario and a seed.

Everything random comes from one ``random.Random`` seeded from the seed, the
scenario's content and the requested size; nothing reads the wall clock, so the
same inputs always give the same travellers, request ids and passport numbers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from google.protobuf import json_format

from departure_screening.exercise.scenario import (
    DECISIONS,
    PlantedCase,
    PopulationProfile,
    Scenario,
    TravellerTemplate,
)
from departure_screening.v1 import screening_pb2 as pb

MAX_SEED = 2**63 - 1
NATIONALITY = "ID"
_DECISION_NAMES = {v: k for k, v in DECISIONS.items()}
_BOOKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

# First-leg flights from Indonesian checkpoints, by the country the flight lands in.
# Synthetic but plausible; a scenario's `flights` adds to or replaces an entry.
DEFAULT_FLIGHTS: dict[str, tuple[str, ...]] = {
    "KH": ("QZ7830", "QG8822"),
    "MY": ("AK381", "MH720", "QZ200", "ID7261"),
    "TH": ("FD396", "TG434", "QZ252"),
    "SG": ("SQ951", "GA826", "TR275", "ID7155"),
    "MM": ("QZ9980",),
    "LA": ("QV512",),
    "PH": ("PR536", "5J760"),
    "VN": ("VN630", "VJ8098"),
    "CN": ("GA898", "CZ388"),
    "HK": ("CX718", "GA860"),
    "TW": ("CI762", "BR238"),
    "JP": ("GA874", "JL726", "NH856"),
    "KR": ("GA878", "KE628"),
    "SA": ("GA980", "SV817"),
    "AE": ("EK357",),
    "QA": ("QR957",),
    "TR": ("TK57",),
    "AU": ("GA716", "QF42"),
    "NL": ("KL810",),
}


class GenerationError(ValueError):
    """The scenario cannot be generated at the requested size."""


@dataclass(frozen=True)
class Truth:
    """The ground truth for one traveller, known to the exercise and never sent."""

    at_risk: bool
    case: str
    planted: bool
    # Planted group the traveller belongs to ("" when none).
    group: str = ""
    # Position within a multi-trip case, e.g. "trip 4 of 5" or "first attempt".
    step: str = ""
    # Scripted officer decision recorded right after this screening ("postponed",
    # "referred" or ""), so that a later trip of the same passport has a history.
    decision: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "at_risk": self.at_risk,
            "case": self.case,
            "planted": self.planted,
            "group": self.group,
            "step": self.step,
            "decision": self.decision,
        }


class GeneratedTraveller(NamedTuple):
    screening: pb.Screening
    truth: Truth


@dataclass(frozen=True)
class _Person:
    passport: str
    birth: dt.date
    issued: dt.date


@dataclass(frozen=True)
class _TripFacts:
    """What a whole party shares: route, flight, date, tickets."""

    checkpoint: str
    date: dt.date
    destination: str
    transit: tuple[str, ...]
    flight: str
    return_ticket: bool
    booking: str
    escort: str = ""
    licence: str = ""


@dataclass(frozen=True)
class _Draft:
    person: _Person
    trip: _TripFacts
    purpose: int
    visa: int
    disnaker: str
    bp2mi: str
    observations: tuple[int, ...]
    truth: Truth
    # Random tie-break among departures of the same day: a manifest is not sorted by case.
    order: float = field(compare=False)


def exercise_digest(scenario: Scenario, total: int) -> str:
    """Identifies the scenario version and size, so request ids never collide across them."""
    return hashlib.sha256(f"{scenario.fingerprint}:{total}".encode()).hexdigest()[:10]


def request_id(seed: int, digest: str, index: int) -> str:
    return f"ex-{seed}-{digest}-{index:06d}"


def scaled_count(count: int, factor: float) -> int:
    """Planted instances at another size: proportional, rounded half up, never below one."""
    return max(1, int(count * factor + 0.5))


def generate(
    scenario: Scenario, seed: int, travellers: int | None = None
) -> list[GeneratedTraveller]:
    """The exercise's travellers in screening order: by departure date, earlier trips first."""
    if not 0 <= seed <= MAX_SEED:
        raise GenerationError(f"seed must be between 0 and {MAX_SEED}, got {seed}")
    total = scenario.travellers if travellers is None else travellers
    if total < 1:
        raise GenerationError(f"the number of travellers must be at least 1, got {total}")
    return _Generator(scenario, seed, total).run()


class _Generator:
    def __init__(self, scenario: Scenario, seed: int, total: int) -> None:
        self.scenario = scenario
        self.seed = seed
        self.total = total
        self.digest = exercise_digest(scenario, total)
        # String seeds are hashed with SHA-512 by random.Random: stable across runs and
        # platforms, unlike hash().
        self.rng = random.Random(f"{seed}:{self.digest}")
        self.passports: set[str] = set()
        self.drafts: list[_Draft] = []

    def run(self) -> list[GeneratedTraveller]:
        factor = self.total / self.scenario.travellers
        for case in self.scenario.cases:
            self._planted(case, scaled_count(case.count, factor))
        genuine = self.total - len(self.drafts)
        if genuine < 0:
            raise GenerationError(
                f"{self.total} travellers are too few for scenario '{self.scenario.name}': "
                f"its planted cases alone make {len(self.drafts)} travellers at that size "
                f"(the scenario's default size is {self.scenario.travellers})"
            )
        for profile, count in zip(self.scenario.population, self._allocate(genuine), strict=True):
            self._population(profile, count)
        self.drafts.sort(key=lambda d: (d.trip.date, d.order))
        return [self._screening(i, d) for i, d in enumerate(self.drafts)]

    # ---- random facts

    def _passport(self) -> str:
        while True:
            number = f"T{self.rng.randrange(10**10):010d}"
            if number not in self.passports:
                self.passports.add(number)
                return number

    def _date_in_window(self) -> dt.date:
        days = (self.scenario.end - self.scenario.start).days
        return self.scenario.start + dt.timedelta(days=self.rng.randint(0, days))

    def _person(self, template: TravellerTemplate, on: dt.date) -> _Person:
        age = template.age.pick(self.rng).pick(self.rng)
        latest = _years_before(on, age)
        earliest = _years_before(on, age + 1) + dt.timedelta(days=1)
        birth = earliest + dt.timedelta(days=self.rng.randint(0, (latest - earliest).days))
        passport_age = template.passport_age_days.pick(self.rng).pick(self.rng)
        issued = max(birth, on - dt.timedelta(days=passport_age))
        return _Person(passport=self._passport(), birth=birth, issued=issued)

    def _booking(self) -> str:
        return "".join(self.rng.choice(_BOOKING_ALPHABET) for _ in range(6))

    def _number(self, prefix: str, probability: float, digits: int) -> str:
        if self.rng.random() >= probability:
            return ""
        return f"{prefix}{self.rng.randrange(10**digits):0{digits}d}"

    def _trip(
        self, template: TravellerTemplate, on: dt.date, *, escort: str = "", checkpoint: str = ""
    ) -> _TripFacts:
        destination = template.destination.pick(self.rng)
        transit = tuple(c for c in template.transit.pick(self.rng) if c != destination)
        hop = transit[0] if transit else destination
        flights = (
            self.scenario.flights.get(hop)
            or DEFAULT_FLIGHTS.get(hop)
            or (f"GA{900 + int(hashlib.sha256(hop.encode()).hexdigest(), 16) % 100}",)
        )
        return _TripFacts(
            checkpoint=checkpoint or self.scenario.checkpoint.pick(self.rng),
            date=on,
            destination=destination,
            transit=transit,
            flight=self.rng.choice(flights),
            return_ticket=self.rng.random() < template.return_ticket,
            booking=self._booking(),
            escort=escort,
            licence=self._number("TDUP-", template.tour_operator_license, 8),
        )

    def _draft(
        self, template: TravellerTemplate, person: _Person, trip: _TripFacts, truth: Truth
    ) -> None:
        observations = tuple(
            code for code, probability in template.observations if self.rng.random() < probability
        )
        self.drafts.append(
            _Draft(
                person=person,
                trip=trip,
                purpose=template.purpose.pick(self.rng),
                visa=template.visa.pick(self.rng),
                disnaker=self._number("DISNAKER-", template.disnaker, 10),
                bp2mi=self._number("BP2MI-", template.bp2mi, 10),
                observations=observations,
                truth=truth,
                order=self.rng.random(),
            )
        )

    # ---- planted cases

    def _planted(self, case: PlantedCase, count: int) -> None:
        template = case.traveller
        for n in range(1, count + 1):
            if case.kind == "individual":
                on = self._date_in_window()
                truth = Truth(at_risk=True, case=case.case, planted=True)
                self._draft(template, self._person(template, on), self._trip(template, on), truth)
            elif case.kind == "group":
                on = self._date_in_window()
                trip = self._trip(template, on, escort=self._passport())
                truth = Truth(at_risk=True, case=case.case, planted=True, group=f"{case.case}#{n}")
                for _ in range(case.size.pick(self.rng)):
                    self._draft(template, self._person(template, on), trip, truth)
            elif case.kind == "returning_escort":
                self._returning_escort(case)
            else:
                self._retry(case)

    def _returning_escort(self, case: PlantedCase) -> None:
        # The escort takes the same route every few days; the last trip falls in the
        # window and the earlier ones reach back before it, as history.
        escort = self._passport()
        last = self._date_in_window()
        route = self._trip(case.traveller, last, escort=escort)
        for k in range(case.trips):
            on = last - dt.timedelta(days=case.every_days * (case.trips - 1 - k))
            trip = _TripFacts(
                checkpoint=route.checkpoint,
                date=on,
                destination=route.destination,
                transit=route.transit,
                flight=route.flight,
                return_ticket=self.rng.random() < case.traveller.return_ticket,
                booking=self._booking(),
                escort=escort,
            )
            truth = Truth(
                at_risk=True, case=case.case, planted=True, step=f"trip {k + 1} of {case.trips}"
            )
            for _ in range(case.size.pick(self.rng)):
                self._draft(case.traveller, self._person(case.traveller, on), trip, truth)

    def _retry(self, case: PlantedCase) -> None:
        assert case.first is not None
        second_on = self._date_in_window()
        first_on = second_on - dt.timedelta(days=case.gap_days.pick(self.rng))
        person = self._person(case.first, first_on)
        decision = _DECISION_NAMES[case.decision]
        self._draft(
            case.first,
            person,
            self._trip(case.first, first_on),
            Truth(
                at_risk=True,
                case=case.case,
                planted=True,
                step="first attempt",
                decision=decision,
            ),
        )
        self._draft(
            case.traveller,
            person,
            self._trip(case.traveller, second_on),
            Truth(at_risk=True, case=case.case, planted=True, step="second attempt"),
        )

    # ---- genuine travellers

    def _allocate(self, genuine: int) -> list[int]:
        """Exact counts per profile by largest remainder, so the mix does not drift by seed."""
        shares = [p.share for p in self.scenario.population]
        total_share = sum(shares)
        quotas = [genuine * s / total_share for s in shares]
        counts = [int(q) for q in quotas]
        by_remainder = sorted(range(len(quotas)), key=lambda i: (counts[i] - quotas[i], i))
        for i in by_remainder[: genuine - sum(counts)]:
            counts[i] += 1
        return counts

    def _population(self, profile: PopulationProfile, count: int) -> None:
        template = profile.traveller
        truth = Truth(at_risk=False, case=profile.profile, planted=False)
        remaining = count
        while remaining > 0:
            size = min(remaining, profile.group_size.pick(self.rng))
            on = self._date_in_window()
            escort = self._passport() if profile.escort else ""
            trip = self._trip(template, on, escort=escort)
            for _ in range(size):
                self._draft(template, self._person(template, on), trip, truth)
            remaining -= size

    # ---- output

    def _screening(self, index: int, d: _Draft) -> GeneratedTraveller:
        screening = pb.Screening(
            request_id=request_id(self.seed, self.digest, index),
            checkpoint=d.trip.checkpoint,
            mode=pb.MODE_TRAINING,
            traveller=pb.Traveller(
                passport_number=d.person.passport,
                nationality=NATIONALITY,
                birth_date=_date(d.person.birth),
                passport_issue_date=_date(d.person.issued),
            ),
            trip=pb.Trip(
                flight_number=d.trip.flight,
                departure_date=_date(d.trip.date),
                destination_country=d.trip.destination,
                transit_countries=list(d.trip.transit),
                has_return_ticket=d.trip.return_ticket,
                booking_reference=d.trip.booking,
                escort_passport_number=d.trip.escort,
                tour_operator_license=d.trip.licence,
            ),
            declaration=pb.Declaration(
                purpose=d.purpose,  # type: ignore[arg-type]
                visa_type=d.visa,  # type: ignore[arg-type]
                disnaker_recommendation_number=d.disnaker,
                bp2mi_registration_number=d.bp2mi,
            ),
            observations=list(d.observations),  # type: ignore[arg-type]
        )
        return GeneratedTraveller(screening, d.truth)


def _years_before(day: dt.date, years: int) -> dt.date:
    # 29 February has no twin in a common year: the 28th is the day such a person
    # has completed their years, per the policy's reading of age.
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


class DateLike(Protocol):
    """A ``google.type.Date`` as read: year, month, day."""

    @property
    def year(self) -> int: ...
    @property
    def month(self) -> int: ...
    @property
    def day(self) -> int: ...


def _date(day: dt.date) -> dict[str, int]:
    # A mapping is accepted for a message field and spares importing google.type here.
    return {"year": day.year, "month": day.month, "day": day.day}


def to_date(value: DateLike) -> dt.date:
    return dt.date(value.year, value.month, value.day)


def to_json_line(item: GeneratedTraveller) -> str:
    """One line of `exercise generate --format jsonl`: proto JSON and the ground truth."""
    record = {
        "screening": json_format.MessageToDict(item.screening),
        "truth": item.truth.to_dict(),
    }
    return json.dumps(record, sort_keys=True, ensure_ascii=False)
