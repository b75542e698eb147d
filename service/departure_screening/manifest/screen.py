"""Screening the flights of PAXLST files through ``ScreenManifest``: one stream per flight.

Every passenger becomes a preliminary screening; the answers, in request order, make the
flight's heads-up list. A passenger the reader could not take (no passport document) or
the service refused (a field the contract refuses) is listed as rejected with its reason,
and the rest of the flight is screened.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from google.rpc import code_pb2, error_details_pb2, status_pb2

from departure_screening.manifest.headsup import HeadsUp, Traveller
from departure_screening.manifest.requests import preliminary_screening, request_id
from departure_screening.paxlst import FlightManifest, PassengerRecord
from departure_screening.privacy.masking import mask_number
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc


@dataclass(frozen=True, slots=True)
class FlightJob:
    """One flight of one file, ready to stream."""

    file_digest: str
    manifest: FlightManifest


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def violation_reason(status: status_pb2.Status) -> str:
    """What the service refused, by field; never a value."""
    fields: list[str] = []
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            fields += [f"{v.field}: {v.description}" for v in bad.field_violations]
    name = code_pb2.Code.Name(status.code) if status.code in code_pb2.Code.values() else "error"
    return f"{name}: " + ("; ".join(fields) if fields else status.message)


def screen_flight(
    stub: pb_grpc.ScreeningServiceStub,
    job: FlightJob,
    *,
    checkpoint: str,
    mode: str,
    advance: Callable[[], None] = lambda: None,
    timeout: float | None = None,
) -> HeadsUp:
    """Stream the flight's passengers; a stream-wide error (access, outage) raises."""
    manifest = job.manifest
    flight = manifest.flight
    headsup = HeadsUp(flight.flight_number, flight.departure_date, checkpoint)
    headsup.passengers = len(manifest.passengers)
    for rejection in manifest.rejections:
        headsup.reject(rejection.ordinal, rejection.passport_masked, rejection.reason)
        advance()
    records = manifest.records

    def requests() -> Iterator[pb.ScreenManifestRequest]:
        for record in records:
            rid = request_id(job.file_digest, manifest, record, mode)
            yield pb.ScreenManifestRequest(
                screening=preliminary_screening(
                    record, request_id=rid, checkpoint=checkpoint, mode=mode
                )
            )

    responses = stub.ScreenManifest(requests(), timeout=timeout)
    for record, response in zip(records, responses, strict=True):
        _take(headsup, record, response)
        advance()
    headsup.rejected.sort(key=lambda r: r.ordinal)
    return headsup


def _take(headsup: HeadsUp, record: PassengerRecord, response: pb.ScreenManifestResponse) -> None:
    if response.HasField("error"):
        masked = mask_number(record.passport_number)
        headsup.reject(record.ordinal, masked, violation_reason(response.error))
        return
    a = response.assessment
    headsup.add(
        Traveller(
            passport=mask_number(record.passport_number),
            band=pb.RiskBand.Name(a.band).removeprefix("RISK_BAND_"),
            score=a.score,
            fired=tuple(i.code for i in a.indicators),
            not_evaluated=tuple(a.not_evaluated),
            booking_reference=record.booking_reference,
            assessment_id=a.assessment_id,
            ordinal=record.ordinal,
        )
    )
