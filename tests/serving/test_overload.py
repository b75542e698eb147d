"""More calls than the store can commit: the commit queue is bounded and deadlines count.

Short calls also have their own threads and a bounded wait for one (the gate).

The store is made slow for real: another connection holds SQLite's write lock in an
open transaction (as a long writer of another process would), so the server's
commits wait on it while the test sends calls over gRPC.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import InProcessServer, start_in_process
from departure_screening.api.status import ERROR_DOMAIN, OVERLOADED_REASON
from departure_screening.serving.short_calls import SERVER_BUSY_REASON, ShortCallGate
from departure_screening.v1 import screening_pb2 as pb
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from support.builders import screening
from support.waiting import wait_for

QUEUE = 4
PATIENCE = 30.0


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "depscreen.db"


@contextmanager
def server_on(db: Path, **config: object) -> Iterator[InProcessServer]:
    server = start_in_process(f"sqlite:///{db}", **config)
    try:
        yield server
    finally:
        server.channel.close()
        server.running.stop(0)


@contextmanager
def write_lock_held(db: Path) -> Iterator[None]:
    """SQLite's write lock, taken by another connection until the block ends."""
    other = sqlite3.connect(db, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


def gauge(server: InProcessServer, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", server.metrics_text(), re.MULTILINE)
    assert match, name
    return float(match.group(1))


def rpc_count(server: InProcessServer, method: str, code: str) -> float:
    pattern = rf'^depscreen_rpc_requests_total\{{code="{code}",method="{method}"\}} (\S+)$'
    match = re.search(pattern, server.metrics_text(), re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def stored_request_ids(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("SELECT request_id FROM assessments")}


def other_content(s: pb.Screening) -> pb.Screening:
    """The same request id with other content: accepted only if nothing was stored for it."""
    changed = pb.Screening()
    changed.CopyFrom(s)
    changed.trip.destination_country = "KH" if s.trip.destination_country != "KH" else "SG"
    return changed


def test_past_the_queue_calls_are_refused_at_once_and_nothing_of_them_is_stored(
    db: Path,
) -> None:
    with server_on(db, max_commit_queue=QUEUE) as server:
        stub = server.stub
        assert gauge(server, "depscreen_commit_queue_limit") == QUEUE
        admitted_requests = [screening() for _ in range(QUEUE)]
        refused_requests = [screening() for _ in range(6)]
        with write_lock_held(db):
            admitted = [
                stub.Screen.future(pb.ScreenRequest(screening=s), timeout=PATIENCE)
                for s in admitted_requests
            ]
            wait_for(lambda: gauge(server, "depscreen_commit_queue_depth") == QUEUE, PATIENCE)
            refusals: list[grpc.RpcError] = []
            for s in refused_requests:
                with pytest.raises(grpc.RpcError) as info:
                    stub.Screen(pb.ScreenRequest(screening=s), timeout=PATIENCE)
                refusals.append(info.value)
            # Answered while every admitted call still waits for the store: a refusal
            # never waits for the queue.
            assert not any(f.done() for f in admitted)
        assessments = [f.result(PATIENCE).assessment for f in admitted]
        for error in refusals:
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            status = rpc_status.from_call(error)  # type: ignore[arg-type]
            assert status is not None
            info, retry = error_details_pb2.ErrorInfo(), error_details_pb2.RetryInfo()
            assert status.details[0].Unpack(info) and status.details[1].Unpack(retry)
            assert info.reason == OVERLOADED_REASON and info.domain == ERROR_DOMAIN
            assert info.metadata["max_commit_queue"] == str(QUEUE)
            assert retry.retry_delay.ToMilliseconds() > 0
        # Every acknowledged call is stored; nothing of a refused one is.
        assert stored_request_ids(db) == {s.request_id for s in admitted_requests}
        for a in assessments:
            got = stub.GetAssessment(pb.GetAssessmentRequest(assessment_id=a.assessment_id))
            assert got.assessment == a
        assert rpc_count(server, "Screen", "RESOURCE_EXHAUSTED") == len(refused_requests)
        assert gauge(server, "depscreen_commit_queue_depth") == 0
        # With room again, a refused call's retry is screened as new.
        for s in refused_requests:
            again = stub.Screen(pb.ScreenRequest(screening=other_content(s)), timeout=PATIENCE)
            assert again.assessment.request_id == s.request_id


def test_a_manifest_past_the_queue_ends_with_resource_exhausted_after_what_it_stored(
    db: Path,
) -> None:
    with server_on(db, max_commit_queue=1) as server:
        stub = server.stub
        first = screening()
        manifest_items = [screening() for _ in range(3)]
        with write_lock_held(db):
            holder = stub.Screen.future(pb.ScreenRequest(screening=first), timeout=PATIENCE)
            wait_for(lambda: gauge(server, "depscreen_commit_queue_depth") == 1, PATIENCE)
            with pytest.raises(grpc.RpcError) as info:
                list(
                    stub.ScreenManifest(
                        iter(pb.ScreenManifestRequest(screening=s) for s in manifest_items),
                        timeout=PATIENCE,
                    )
                )
            assert not holder.done()
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        holder.result(PATIENCE)
        assert stored_request_ids(db) == {first.request_id}
        assert rpc_count(server, "ScreenManifest", "RESOURCE_EXHAUSTED") == 1


def test_a_call_whose_deadline_passes_in_the_commit_queue_is_not_committed(db: Path) -> None:
    with server_on(db) as server:
        stub = server.stub
        leader, late = screening(), screening()
        with write_lock_held(db):
            # The first call takes its batch and waits for the write lock; the second
            # waits behind it until its deadline has passed.
            first = stub.Screen.future(pb.ScreenRequest(screening=leader), timeout=PATIENCE)
            wait_for(lambda: gauge(server, "depscreen_commit_queue_depth") == 1, PATIENCE)
            # Its place is taken before its evaluation: give that time to end, so that
            # it leads (and waits for the lock) before the second call arrives.
            time.sleep(0.5)
            with pytest.raises(grpc.RpcError) as info:
                stub.Screen(pb.ScreenRequest(screening=late), timeout=0.5)
            assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        first.result(PATIENCE)
        wait_for(lambda: rpc_count(server, "Screen", "DEADLINE_EXCEEDED") == 1, PATIENCE)
        assert stored_request_ids(db) == {leader.request_id}
        again = stub.Screen(pb.ScreenRequest(screening=other_content(late)), timeout=PATIENCE)
        assert again.assessment.request_id == late.request_id


def test_a_call_that_waited_for_a_thread_past_its_deadline_is_not_started(db: Path) -> None:
    # Three short-call threads, each held below by a call waiting for the store.
    with server_on(db, workers=3) as server:
        stub = server.stub
        busy = [screening() for _ in range(3)]
        late = screening()
        with write_lock_held(db):
            calls: list[Any] = [
                stub.Screen.future(pb.ScreenRequest(screening=s), timeout=PATIENCE) for s in busy
            ]
            wait_for(lambda: gauge(server, "depscreen_commit_queue_depth") == 3, PATIENCE)
            # Every thread waits for the store: this call waits for a thread.
            with pytest.raises(grpc.RpcError) as info:
                stub.Screen(pb.ScreenRequest(screening=late), timeout=0.5)
            assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        for call in calls:
            call.result(PATIENCE)
        # gRPC hands the servicer no call that ended while it waited for a thread
        # (and the servicer checks the deadline first in any case): the retry after
        # it, queued behind it, is screened as new.
        again = stub.Screen(pb.ScreenRequest(screening=other_content(late)), timeout=PATIENCE)
        assert again.assessment.request_id == late.request_id
        assert stored_request_ids(db) == {s.request_id for s in [*busy, late]}
        assert rpc_count(server, "Screen", "OK") == len(busy) + 1


# -- the short-call gate ------------------------------------------------------------

WORKERS = 1
QUEUED = 4 * WORKERS  # the server's QUEUED_PER_WORKER


def gate_of(server: Any) -> ShortCallGate:
    gate = server.running.short_calls
    assert gate is not None
    return gate


def assert_server_busy(error: grpc.RpcError) -> None:
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    info, retry = error_details_pb2.ErrorInfo(), error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(info) and status.details[1].Unpack(retry)
    assert info.reason == SERVER_BUSY_REASON and info.domain == ERROR_DOMAIN
    assert retry.retry_delay.ToMilliseconds() > 0


def test_past_the_queued_short_calls_a_call_is_refused_at_once_and_stores_nothing(
    db: Path,
) -> None:
    # A wait budget far above the test's own waits: here only the count refuses.
    with server_on(db, workers=WORKERS, max_call_wait_ms=600_000.0) as server:
        stub, gate = server.stub, gate_of(server)
        assert gate.most == WORKERS + QUEUED
        admitted_requests = [screening() for _ in range(gate.most)]
        refused_requests = [screening() for _ in range(5)]
        with write_lock_held(db):
            admitted = [
                stub.Screen.future(pb.ScreenRequest(screening=s), timeout=PATIENCE)
                for s in admitted_requests
            ]
            wait_for(lambda: gate.pool.unfinished == gate.most, PATIENCE)
            refusals: list[grpc.RpcError] = []
            for s in refused_requests:
                with pytest.raises(grpc.RpcError) as info:
                    stub.Screen(pb.ScreenRequest(screening=s), timeout=PATIENCE)
                refusals.append(info.value)
            # Every short call of the service counts, not Screen alone.
            with pytest.raises(grpc.RpcError) as listing:
                stub.ListIndicators(pb.ListIndicatorsRequest(), timeout=PATIENCE)
            refusals.append(listing.value)
            # Answered while the admitted calls still wait for the store and a thread.
            assert not any(f.done() for f in admitted)
        for error in refusals:
            assert_server_busy(error)
        for f in admitted:
            assert f.result(PATIENCE).assessment.request_id
        assert stored_request_ids(db) == {s.request_id for s in admitted_requests}
        assert rpc_count(server, "Screen", "RESOURCE_EXHAUSTED") == len(refused_requests)
        assert rpc_count(server, "ListIndicators", "RESOURCE_EXHAUSTED") == 1
        assert rpc_count(server, "Screen", "OK") == len(admitted_requests)
        # With the queue empty again, a refused call's retry is admitted.
        wait_for(lambda: gate.pool.unfinished == 0, PATIENCE)
        again = stub.Screen(pb.ScreenRequest(screening=refused_requests[0]), timeout=PATIENCE)
        assert again.assessment.request_id == refused_requests[0].request_id


def test_a_short_call_that_waited_past_the_budget_is_refused_before_any_work(
    db: Path,
) -> None:
    with server_on(db, workers=WORKERS, max_call_wait_ms=50.0) as server:
        stub, gate = server.stub, gate_of(server)
        first = screening()
        waiting = [screening() for _ in range(3)]
        with write_lock_held(db):
            holder = stub.Screen.future(pb.ScreenRequest(screening=first), timeout=PATIENCE)
            wait_for(lambda: gauge(server, "depscreen_commit_queue_depth") == 1, PATIENCE)
            queued = [
                stub.Screen.future(pb.ScreenRequest(screening=s), timeout=PATIENCE) for s in waiting
            ]
            wait_for(lambda: gate.pool.unfinished == 1 + len(waiting), PATIENCE)
            # Well past the budget before the thread is free.
            threading.Event().wait(0.5)
        holder.result(PATIENCE)
        for f in queued:
            with pytest.raises(grpc.RpcError) as info:
                f.result(PATIENCE)
            assert_server_busy(info.value)
        assert stored_request_ids(db) == {first.request_id}
        assert rpc_count(server, "Screen", "RESOURCE_EXHAUSTED") == len(waiting)
        # Every call that reached a thread had its wait measured.
        assert re_count(server, "depscreen_call_wait_seconds_count") == 1 + len(waiting)
        # Streams never go through the gate: a manifest is screened beside it.
        items = [screening() for _ in range(2)]
        answers = list(
            stub.ScreenManifest(
                iter(pb.ScreenManifestRequest(screening=s) for s in items), timeout=PATIENCE
            )
        )
        assert [a.assessment.request_id for a in answers] == [s.request_id for s in items]


def re_count(server: Any, name: str) -> float:
    for line in server.metrics_text().splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(name)
