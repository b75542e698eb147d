"""kill -9 under concurrent load loses nothing that was acknowledged."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from departure_screening.v1 import screening_pb2 as pb
from support.builders import screening
from support.servers import ServerProcess


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/depscreen.db"
        return
    yield request.getfixturevalue("pg_database")


def test_kill_9_keeps_every_acknowledged_assessment(store_url: str) -> None:
    store = store_url
    env = {"DEPSCREEN_PSEUDONYM_KEY": secrets.token_hex(32)}  # the same for the restart
    server = ServerProcess(store=store, env=env).start()
    acknowledged: list[tuple[pb.Screening, pb.Assessment]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load(worker: int) -> None:
        stub = server.stub()
        n = 0
        while not stop.is_set():
            n += 1
            s = screening(
                trip__destination_country="KH" if n % 2 else "SG",
                trip__escort_passport_number=f"E{worker:07d}",
                trip__flight_number=f"QZ{n % 5}",
            )
            try:
                a = stub.Screen(pb.ScreenRequest(screening=s), timeout=5).assessment
            except grpc.RpcError:
                return
            with lock:
                acknowledged.append((s, a))

    threads = [threading.Thread(target=load, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()  # SIGKILL: no shutdown, no flush
    stop.set()
    for t in threads:
        t.join(10)
    assert len(acknowledged) >= 300

    with ServerProcess(store=store, env=env) as again:
        stub = again.stub()
        for s, a in acknowledged:
            got = stub.GetAssessment(pb.GetAssessmentRequest(assessment_id=a.assessment_id))
            assert got.assessment == a
            assert stub.Screen(pb.ScreenRequest(screening=s)).assessment == a
