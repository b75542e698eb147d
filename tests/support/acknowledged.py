"""Screenings and decisions under load against a server, and what it acknowledged."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import grpc
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc

from support.builders import screening
from support.servers import ServerProcess


@dataclass
class Acknowledged:
    """What the server acknowledged, in the order it did, and any call it failed."""

    screenings: list[tuple[str, pb.Assessment]] = field(default_factory=list)
    decisions: list[pb.RecordedDecision] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.screenings) + len(self.decisions)

    def copy(self) -> tuple[list[tuple[str, pb.Assessment]], list[pb.RecordedDecision]]:
        """(passport number, assessment) of each screening, and each decision, so far."""
        with self.lock:
            return list(self.screenings), list(self.decisions)

    def wait_for(self, at_least: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < at_least:
            assert not self.errors, self.errors
            assert time.monotonic() < deadline, f"only {self.count()} records acknowledged"
            time.sleep(0.05)


def _screen_and_decide(server: ServerProcess, acked: Acknowledged, stop: threading.Event) -> None:
    stub = server.stub()
    n = 0
    while not stop.is_set():
        n += 1
        s = screening(
            trip__destination_country="KH" if n % 2 else "SG",
            trip__flight_number=f"QZ{n % 5}",
        )
        try:
            a = stub.Screen(pb.ScreenRequest(screening=s), timeout=10).assessment
            with acked.lock:
                acked.screenings.append((s.traveller.passport_number, a))
            if n % 3 == 0:
                d = stub.RecordDecision(
                    pb.RecordDecisionRequest(
                        assessment_id=a.assessment_id,
                        officer_id="officer-9",
                        decision=pb.DECISION_CLEARED,
                        request_id=f"{s.request_id}-d",
                    ),
                    timeout=10,
                ).decision
                with acked.lock:
                    acked.decisions.append(d)
        except grpc.RpcError as e:
            with acked.lock:
                acked.errors.append(f"{e.code()}: {e.details()}")
            return


@contextmanager
def under_load(server: ServerProcess, workers: int = 6) -> Iterator[Acknowledged]:
    """Counters screening (and deciding every third) on ``server`` until the block ends."""
    acked = Acknowledged()
    stop = threading.Event()
    threads = [
        threading.Thread(target=_screen_and_decide, args=(server, acked, stop))
        for _ in range(workers)
    ]
    for t in threads:
        t.start()
    try:
        yield acked
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not acked.errors, acked.errors


def assert_served(
    stub: pb_grpc.ScreeningServiceStub,
    screenings: list[tuple[str, pb.Assessment]],
    decisions: list[pb.RecordedDecision],
) -> None:
    """Every assessment of ``screenings`` as acknowledged, with each of ``decisions``."""
    decided = {d.assessment_id: d for d in decisions}
    for _, a in screenings:
        got = stub.GetAssessment(pb.GetAssessmentRequest(assessment_id=a.assessment_id))
        assert got.assessment == a
        if a.assessment_id in decided:
            assert decided[a.assessment_id] in got.decisions
