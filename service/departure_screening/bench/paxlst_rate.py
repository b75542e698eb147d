"""How fast a 400-passenger PAXLST manifest is read and screened, end to end over gRPC.

Each file is generated before its clock starts (a flight of its own, new passports);
the clock covers reading the file and streaming every passenger through
``ScreenManifest`` as preliminary screenings until the last answer, as
``depscreen manifest screen`` does.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from departure_screening.access.client import open_channel
from departure_screening.manifest.screen import FlightJob, file_digest, screen_flight
from departure_screening.paxlst import read_paxlst
from departure_screening.paxlst.generate import generate_bytes
from departure_screening.v1 import screening_pb2_grpc as pb_grpc

PAXLST_PASSENGERS = 400
PAXLST_FILES = 5
# Seeds far from the tests' and exercises' so that no passport repeats theirs.
FIRST_SEED = 900_000


def paxlst_rate(
    target: str, passengers: int = PAXLST_PASSENGERS, files: int = PAXLST_FILES
) -> dict[str, Any]:
    seconds: list[float] = []
    screened = 0
    channel = open_channel(target)
    try:
        stub = pb_grpc.ScreeningServiceStub(channel)
        for n in range(files):
            data = generate_bytes(FIRST_SEED + n, passengers)
            start = time.perf_counter()
            for manifest in read_paxlst(data).manifests:
                job = FlightJob(file_digest(data), manifest)
                headsup = screen_flight(
                    stub, job, checkpoint=manifest.flight.checkpoint_hint, mode="live"
                )
                screened += len(headsup.travellers)
            seconds.append(time.perf_counter() - start)
    finally:
        channel.close()
    median = statistics.median(seconds)
    return {
        "passengers": passengers,
        "files": files,
        "screened": screened,
        "seconds_median": round(median, 3),
        "per_s_median": round(passengers / median, 1),
        "per_s_best": round(passengers / min(seconds), 1),
    }
