"""The commit queue: callers share transactions and each gets exactly its own results."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from departure_screening.errors import AlreadyExists, StoreUnavailable
from departure_screening.pipeline.batching import CommitQueue


class FakeBatches:
    """Stands in for the screener: records each transaction's items."""

    def __init__(self, delay: float = 0.0, fail_on: Any = None) -> None:
        self.batches: list[list[Any]] = []
        self.delay = delay
        self.fail_on = fail_on
        self.lock = threading.Lock()
        self.concurrent = 0
        self.most_concurrent = 0

    def __call__(self, items: Sequence[Any]) -> list[Any]:
        with self.lock:
            self.concurrent += 1
            self.most_concurrent = max(self.most_concurrent, self.concurrent)
        try:
            time.sleep(self.delay)
            if self.fail_on is not None and self.fail_on in items:
                raise StoreUnavailable("down")
            self.batches.append(list(items))
            return [AlreadyExists(str(x)) if x == "conflict" else f"ok:{x}" for x in items]  # type: ignore[misc]
        finally:
            with self.lock:
                self.concurrent -= 1


def test_what_arrives_while_the_leader_waits_at_the_gate_joins_its_batch() -> None:
    fake = FakeBatches()
    gate = threading.Lock()
    queue = CommitQueue(fake, gate=lambda: gate)
    gate.acquire()  # another process is committing
    with ThreadPoolExecutor(5) as pool:
        leader = pool.submit(queue.submit, ["lead"])
        deadline = time.monotonic() + 5
        while len(queue._queue) < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        followers = [pool.submit(queue.submit, [f"f{n}"]) for n in range(4)]
        while len(queue._queue) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        gate.release()
        assert leader.result(5) == ["ok:lead"]
        assert [f.result(5) for f in followers] == [[f"ok:f{n}"] for n in range(4)]
    assert fake.batches == [["lead", "f0", "f1", "f2", "f3"]]


def test_concurrent_callers_share_transactions_and_get_their_own_results() -> None:
    fake = FakeBatches(delay=0.01)
    queue = CommitQueue(fake, max_batch=50)
    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(lambda n: queue.submit([n, n + 1000]), range(200)))
    assert results == [[f"ok:{n}", f"ok:{n + 1000}"] for n in range(200)]
    assert fake.most_concurrent == 1  # one transaction at a time
    assert len(fake.batches) < 200  # and they were shared
    assert all(len(b) <= 50 for b in fake.batches)
    flat = [x for b in fake.batches for x in b]
    assert sorted(flat) == sorted([*range(200), *range(1000, 1200)])
    for n in range(200):  # a caller's items stay together and in order
        assert flat.index(n) + 1 == flat.index(n + 1000)


def test_a_conflict_is_that_items_result_only() -> None:
    queue = CommitQueue(FakeBatches())
    first, conflict, last = queue.submit(["a", "conflict", "b"])
    assert (first, last) == ("ok:a", "ok:b")
    assert isinstance(conflict, AlreadyExists)


def test_a_failed_transaction_fails_every_caller_in_it_and_the_queue_goes_on() -> None:
    fake = FakeBatches(delay=0.02, fail_on="bad")
    queue = CommitQueue(fake)
    outcomes: dict[str, Any] = {}

    def call(item: str) -> None:
        try:
            outcomes[item] = queue.submit([item])
        except StoreUnavailable as error:
            outcomes[item] = error

    threads = [threading.Thread(target=call, args=(x,)) for x in ("first", "bad", "x", "y")]
    for t in threads:
        t.start()
        time.sleep(0.001)
    for t in threads:
        t.join(5)
    assert isinstance(outcomes["bad"], StoreUnavailable)
    assert outcomes["first"] == ["ok:first"] or isinstance(outcomes["first"], StoreUnavailable)
    assert queue.submit(["later"]) == ["ok:later"]
