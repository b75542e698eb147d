"""Two server processes on one real PostgreSQL share groups, history and idempotency."""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from departure_screening.v1 import screening_pb2 as pb
from support.builders import screening
from support.servers import ServerProcess


@pytest.fixture
def replicas(pg_database: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    db = pg_database
    key = {"DEPSCREEN_PSEUDONYM_KEY": secrets.token_hex(32)}
    servers = [ServerProcess(store=db, env=key), ServerProcess(store=db, env=key)]
    try:
        for server in servers:
            server.start()
        yield servers[0], servers[1]
    finally:
        for server in servers:
            if server.proc and server.proc.poll() is None:
                server.terminate()


def codes(a: pb.Assessment) -> set[str]:
    return {i.code for i in a.indicators}


def test_groups_history_and_idempotency_are_shared(
    replicas: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = (r.stub() for r in replicas)
    group = {
        "trip__escort_passport_number": "E8080808",
        "trip__flight_number": "QZ888",
        "trip__destination_country": "KH",
        "checkpoint": "SUB",
    }
    alerts: list[pb.Alert] = []
    ready = threading.Event()
    watch = b.WatchAlerts(pb.WatchAlertsRequest(checkpoint="SUB", mode=pb.MODE_LIVE))

    def listen() -> None:
        watch.initial_metadata()
        ready.set()
        with contextlib.suppress(grpc.RpcError):  # cancelled at the end of the test
            alerts.extend(r.alert for r in watch)

    threading.Thread(target=listen, daemon=True).start()
    assert ready.wait(10)
    m1 = a.Screen(pb.ScreenRequest(screening=screening(**group))).assessment
    m2 = b.Screen(pb.ScreenRequest(screening=screening(**group))).assessment
    m3 = a.Screen(pb.ScreenRequest(screening=screening(**group))).assessment
    assert [m.group.members_screened for m in (m1, m2, m3)] == [1, 2, 3]
    assert "GROUP_WITH_RECRUITER" in codes(m3)
    deadline = time.monotonic() + 10
    while not alerts and time.monotonic() < deadline:
        time.sleep(0.05)
    watch.cancel()
    assert len(alerts) == 1
    assert list(alerts[0].assessment_ids) == [m1.assessment_id, m2.assessment_id]

    earlier = screening(traveller__passport_number="H1234500", trip__departure_date="2026-01-10")
    first = a.Screen(pb.ScreenRequest(screening=earlier)).assessment
    a.RecordDecision(
        pb.RecordDecisionRequest(
            assessment_id=first.assessment_id, officer_id="o1", decision=pb.DECISION_POSTPONED
        )
    )
    later = b.Screen(
        pb.ScreenRequest(screening=screening(traveller__passport_number="H1234500"))
    ).assessment
    assert "PRIOR_POSTPONEMENT" in codes(later)

    assert b.Screen(pb.ScreenRequest(screening=earlier)).assessment == first
    changed = pb.Screening()
    changed.CopyFrom(earlier)
    changed.trip.has_return_ticket = False
    with pytest.raises(grpc.RpcError) as info:
        b.Screen(pb.ScreenRequest(screening=changed))
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    got = b.GetAssessment(pb.GetAssessmentRequest(assessment_id=first.assessment_id))
    assert [d.decision for d in got.decisions] == [pb.DECISION_POSTPONED]


def test_one_group_screened_at_once_on_both_replicas(
    replicas: tuple[ServerProcess, ServerProcess],
) -> None:
    stubs = [r.stub() for r in replicas]
    group = {"trip__escort_passport_number": "E7070707", "trip__flight_number": "QZ777"}
    members = [screening(**group) for _ in range(20)]
    start = threading.Barrier(20)

    def go(i: int) -> pb.Assessment:
        start.wait()
        return stubs[i % 2].Screen(pb.ScreenRequest(screening=members[i])).assessment

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(go, range(20)))
    assert sorted(r.group.members_screened for r in results) == list(range(1, 21))
    # Retries from the other replica count once.
    with ThreadPoolExecutor(20) as pool:
        again = list(
            pool.map(
                lambda i: (
                    stubs[(i + 1) % 2].Screen(pb.ScreenRequest(screening=members[i])).assessment
                ),
                range(20),
            )
        )
    assert again == results
