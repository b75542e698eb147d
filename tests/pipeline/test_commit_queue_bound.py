"""The commit queue's bound and its callers' deadlines."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from departure_screening.errors import DeadlineExpired, Overloaded
from departure_screening.pipeline.batching import RETRY_AFTER_SECONDS, CommitQueue
from hypothesis import given, settings
from hypothesis import strategies as st
from support.waiting import wait_for

PATIENCE = 20.0


class HeldBatches:
    """Runs batches once ``release`` is set, recording what each held."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.batches: list[list[int]] = []

    def __call__(self, items: Sequence[int]) -> list[str]:
        self.release.wait(PATIENCE)
        self.batches.append(list(items))
        return [f"ok:{n}" for n in items]


@settings(max_examples=30)
@given(limit=st.integers(1, 6), callers=st.integers(0, 10))
def test_at_most_the_limit_is_let_in_the_rest_refused_at_once_and_each_admitted_gets_its_own(
    limit: int, callers: int
) -> None:
    held = HeldBatches()
    changes: list[int] = []
    queue = CommitQueue(held, max_callers=limit, on_depth=changes.append)

    def call(n: int) -> list[str]:
        with queue.place():
            return queue.submit([n])

    with ThreadPoolExecutor(max(callers, 1)) as pool:
        futures: list[Future[list[str]]] = [pool.submit(call, n) for n in range(callers)]
        refused_count = max(0, callers - limit)
        # Refusals come while every admitted caller still waits for its commit.
        wait_for(lambda: sum(f.done() for f in futures) == refused_count, PATIENCE, 0.01)
        assert queue.depth == min(callers, limit)
        refused = [n for n, f in enumerate(futures) if f.done()]
        for n in refused:
            with pytest.raises(Overloaded) as info:
                futures[n].result()
            assert info.value.limit == limit and info.value.retry_after == RETRY_AFTER_SECONDS
        held.release.set()
        admitted = [n for n in range(callers) if n not in refused]
        for n in admitted:
            assert futures[n].result(PATIENCE) == [f"ok:{n}"]
    assert sorted(n for batch in held.batches for n in batch) == admitted
    assert queue.depth == 0 and sum(changes) == 0 and changes.count(1) == len(admitted)


def test_a_caller_whose_deadline_passes_while_it_waits_is_dropped_not_run() -> None:
    held = HeldBatches()
    held.release.set()
    gate = threading.Lock()
    queue: CommitQueue[int, str] = CommitQueue(held, gate=lambda: gate)
    gate.acquire()  # another process is committing
    with ThreadPoolExecutor(2) as pool:
        leader = pool.submit(queue.submit, [1])
        wait_for(lambda: len(queue._queue) == 1, PATIENCE, 0.01)
        late = pool.submit(queue.submit, [2], time.monotonic() + 0.1)
        wait_for(lambda: len(queue._queue) == 2, PATIENCE, 0.01)
        time.sleep(0.2)  # its deadline passes while the gate is held
        gate.release()
        assert leader.result(PATIENCE) == ["ok:1"]
        with pytest.raises(DeadlineExpired):
            late.result(PATIENCE)
    assert held.batches == [[1]]
    assert not queue.last_failed  # a caller's deadline says nothing of the store


def test_a_caller_whose_deadline_passed_already_is_refused_before_it_queues() -> None:
    held = HeldBatches()
    held.release.set()
    queue: CommitQueue[int, str] = CommitQueue(held)
    with pytest.raises(DeadlineExpired):
        queue.submit([1], time.monotonic())
    assert held.batches == []
    assert queue.submit([2], time.monotonic() + PATIENCE) == ["ok:2"]


def test_a_queue_without_room_is_refused() -> None:
    with pytest.raises(ValueError, match="room for a caller"):
        CommitQueue(HeldBatches(), max_callers=0)
