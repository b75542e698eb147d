"""What a PAXLST file yields: flights with screening-ready passengers or rejections."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from departure_screening.domain import Traveller, Trip


@dataclass(frozen=True, slots=True)
class Flight:
    flight_number: str
    departure_date: dt.date
    departure_airport: str
    departure_country: str
    arrival_airport: str
    arrival_country: str | None
    # The departure airport's code: the checkpoint that will see these travellers.
    checkpoint_hint: str


@dataclass(frozen=True, slots=True)
class PassengerRecord:
    """One passenger as far as API carries it; names are personal data, kept out of repr."""

    ordinal: int
    passport_number: str = field(repr=False)
    nationality: str
    birth_date: dt.date
    passport_issue_date: dt.date | None
    flight_number: str
    departure_date: dt.date
    destination_country: str
    transit_countries: tuple[str, ...]
    booking_reference: str
    surname: str = field(repr=False, default="")
    given_names: str = field(repr=False, default="")

    def trip(self) -> Trip:
        return Trip(
            flight_number=self.flight_number,
            departure_date=self.departure_date,
            destination_country=self.destination_country,
            transit_countries=self.transit_countries,
            booking_reference=self.booking_reference,
        )

    def traveller(self) -> Traveller | None:
        """The domain traveller, or None when the carrier did not send the issue date."""
        if self.passport_issue_date is None:
            return None
        return Traveller(
            passport_number=self.passport_number,
            nationality=self.nationality,
            birth_date=self.birth_date,
            passport_issue_date=self.passport_issue_date,
        )


@dataclass(frozen=True, slots=True)
class Rejection:
    """A passenger that cannot be screened from API; the reason names no personal data."""

    ordinal: int
    segment_index: int
    reason: str
    passport_masked: str = ""


@dataclass(frozen=True, slots=True)
class FlightManifest:
    message_reference: str
    flight: Flight
    passengers: tuple[PassengerRecord | Rejection, ...]

    @property
    def records(self) -> tuple[PassengerRecord, ...]:
        return tuple(p for p in self.passengers if isinstance(p, PassengerRecord))

    @property
    def rejections(self) -> tuple[Rejection, ...]:
        return tuple(p for p in self.passengers if isinstance(p, Rejection))


@dataclass(frozen=True, slots=True)
class PaxlstFile:
    interchange_reference: str
    manifests: tuple[FlightManifest, ...]
    crew_lists_skipped: int
