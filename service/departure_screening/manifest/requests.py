"""A passenger of a PAXLST manifest as a preliminary screening request.

The request id is derived from the file and the passenger's place in it, so sending
the same file again is a retry (the same assessments, counted once), never a second
screening.
"""

from __future__ import annotations

import hashlib

from departure_screening.api.convert import date_to_pb
from departure_screening.paxlst import FlightManifest, PassengerRecord
from departure_screening.v1 import screening_pb2 as pb

MODES = {"live": pb.MODE_LIVE, "training": pb.MODE_TRAINING}


def request_id(
    file_digest: str, manifest: FlightManifest, record: PassengerRecord, mode: str
) -> str:
    """``pax-`` and a digest: the same file, message and passenger give the same id."""
    key = "|".join((file_digest, manifest.message_reference, str(record.ordinal), mode)).encode()
    return "pax-" + hashlib.sha256(key).hexdigest()[:40]


def preliminary_screening(
    record: PassengerRecord, *, request_id: str, checkpoint: str, mode: str
) -> pb.Screening:
    """What API carries, and nothing else: no declaration, observations or escort."""
    traveller = pb.Traveller(
        passport_number=record.passport_number,
        nationality=record.nationality,
        birth_date=date_to_pb(record.birth_date),
    )
    if record.passport_issue_date is not None:
        traveller.passport_issue_date.CopyFrom(date_to_pb(record.passport_issue_date))
    return pb.Screening(
        request_id=request_id,
        checkpoint=checkpoint,
        mode=MODES[mode],
        stage=pb.STAGE_PRELIMINARY,
        traveller=traveller,
        trip=pb.Trip(
            flight_number=record.flight_number,
            departure_date=date_to_pb(record.departure_date),
            destination_country=record.destination_country,
            transit_countries=list(record.transit_countries),
            booking_reference=record.booking_reference,
        ),
    )
