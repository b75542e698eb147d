"""The commit queue: callers share transactions and each gets exactly its own results."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from departure_screening.batching import CommitQueue, Result
from departure_screening.errors import AlreadyExists, StoreUnavailable


class FakeBatches:
    """Stands in for the screener: records each transaction's items."""

    def __init__(self, delay: float = 0.0, fail_on: Any = None) -> None:
        self.batches: list[list[Any]] = []
        self.delay = delay
        self.fail_on = fail_on
        self.lock = threading.Lock()
        self.concurrent = 0
        self.most_concurrent = 0

    def __call__(self, items: Sequence[Any]) -> list[Result]:
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


def test_concurrent_callers_share_transactions_and_get_their_own_results() -> None:
    fake = FakeBatches(delay=0.01)
    queue = CommitQueue(fake, max_batch=50)
    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(lambda n: queue.screen_many([n, n + 1000]), range(200)))
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
    assert queue.screen_many(["a", "conflict", "b"])[0] == "ok:a"
    with pytest.raises(AlreadyExists):
        queue.screen("conflict")  # type: ignore[arg-type]


def test_a_failed_transaction_fails_every_caller_in_it_and_the_queue_goes_on() -> None:
    fake = FakeBatches(delay=0.02, fail_on="bad")
    queue = CommitQueue(fake)
    outcomes: dict[str, Any] = {}

    def call(item: str) -> None:
        try:
            outcomes[item] = queue.screen_many([item])
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
    assert queue.screen_many(["later"]) == ["ok:later"]
