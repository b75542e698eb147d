"""Several replicas (store instances, threads and processes) screening one group at once."""

from __future__ import annotations

import multiprocessing
import threading

from departure_screening.screening.alerts import AlertHub
from departure_screening.store.base import Store
from support.store_helpers import StoreKit, keys, screen
from support.store_workers import raise_sentinel, replica, screen_concurrently, until_sentinel

# Longest wait for an alert to reach another replica's watchers.
ALERT_TIMEOUT = 60.0


def _check_group(results: list[dict[str, object]], members: int) -> None:
    assert sorted(r["members"] for r in results) == list(range(1, members + 1))
    assert sum(1 for r in results if r["alert"]) == 1
    raiser = next(r for r in results if r["alert"])
    assert raiser["members"] == 3
    # The earlier members named are exactly the first two, in screening order.
    by_count = {r["members"]: r["assessment_id"] for r in results}
    assert raiser["earlier"] == [by_count[1], by_count[2]]


def test_two_store_instances_one_group_threads(durable_kit: StoreKit) -> None:
    hubs = [AlertHub(), AlertHub()]
    stores = [durable_kit.open(hubs[0]), durable_kit.open(hubs[1])]
    results: list[dict[str, object]] = []
    with hubs[0].subscribe("CGK", "MODE_LIVE") as q0, hubs[1].subscribe("CGK", "MODE_LIVE") as q1:
        out: list[list[dict[str, object]]] = [[], []]
        go = threading.Barrier(2)

        def run(i: int) -> None:
            go.wait()
            out[i] = screen_concurrently(stores[i], [f"S{i}-{n}" for n in range(6)], "ESC")

        threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        results = out[0] + out[1]
        raise_sentinel(durable_kit.open())  # by a third replica: it comes the way theirs do
        received = [len(until_sentinel(q0)), len(until_sentinel(q1))]
    _check_group(results, 12)
    # Every replica's watchers, exactly once: through NOTIFY on PostgreSQL, through
    # the poll of the alerts table on SQLite.
    assert received == [1, 1]


def test_replica_processes_one_group(durable_kit: StoreKit) -> None:
    ctx = multiprocessing.get_context("spawn")
    n_procs = 2
    barrier = ctx.Barrier(n_procs + 1)
    out = ctx.Queue()
    procs = [
        ctx.Process(
            target=replica,
            args=(
                durable_kit.url,
                [f"R{p}-{n}" for n in range(4)],
                "ESC",
                barrier,
                out,
                ALERT_TIMEOUT,
            ),
        )
        for p in range(n_procs)
    ]
    durable_kit.open().close()  # migrate first so the children start alike
    hub = AlertHub()
    store: Store = durable_kit.open(hub)
    for p in procs:
        p.start()
    try:
        with hub.subscribe("CGK", "MODE_LIVE") as q:
            barrier.wait(timeout=60)
            mine = screen_concurrently(store, [f"M-{n}" for n in range(4)], "ESC")
            barrier.wait(timeout=60)
            raise_sentinel(durable_kit.open())  # by another replica, as theirs come
            received_here = len(until_sentinel(q))
        reports = [out.get(timeout=60) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=60)
    assert all("error" not in r for r in reports), reports
    results = mine + [r for rep in reports for r in rep["results"]]
    _check_group(results, 12)
    received = [received_here] + [rep["received"] for rep in reports]
    assert received == [1, 1, 1]
    assert all(p.exitcode == 0 for p in procs)


def test_same_request_racing_on_two_replicas(durable_kit: StoreKit) -> None:
    a, b = durable_kit.open(), durable_kit.open()
    for round_ in range(10):
        k = keys(f"P{round_}", escort="E", request_id=f"race-{round_}")
        got: list[object] = [None, None]
        go = threading.Barrier(2)

        def run(
            i: int, store: Store, k: object = k, got: list[object] = got, go: threading.Barrier = go
        ) -> None:
            go.wait()
            got[i] = screen(store, k)  # type: ignore[arg-type]

        threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate((a, b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        first, second = got
        assert first is not None and second is not None
        replays = [first.replayed, second.replayed]  # type: ignore[attr-defined]
        assert sorted(replays) == [False, True]
        assert first.assessment == second.assessment  # type: ignore[attr-defined]
