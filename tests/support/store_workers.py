"""Work for child processes in store concurrency tests (importable under spawn)."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from departure_screening.domain import GroupAlert
from departure_screening.screening.alerts import AlertHub, Watcher
from departure_screening.store.base import Store
from departure_screening.store.factory import open_store

from support.store_helpers import keys, screen


def screen_concurrently(store: Store, passports: list[str], escort: str) -> list[dict[str, Any]]:
    """Screen one member per thread, all released at the same moment."""
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(passports))

    def one(passport: str) -> None:
        try:
            start.wait()
            s = screen(store, keys(passport, escort=escort))
            results.append(
                {
                    "passport": passport,
                    "members": s.assessment.group.members_screened,
                    "alert": s.alert is not None,
                    "assessment_id": s.assessment.assessment_id,
                    "earlier": list(s.alert.earlier_assessment_ids) if s.alert else [],
                }
            )
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=one, args=(p,)) for p in passports]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def drain(q: Watcher) -> list[GroupAlert]:
    got = []
    while True:
        try:
            got.append(q.get_nowait())
        except queue.Empty:
            return got


SENTINEL = "SENTINEL-ESCORT"


def until_sentinel(q: Watcher, timeout: float = 60.0) -> list[GroupAlert]:
    """The alerts received before the sentinel group's alert (``raise_sentinel``).

    Alerts reach a watcher in the order they were raised, so once the sentinel, raised
    after everything else, has arrived, so has every copy of what came before it."""
    sentinel = keys("x", escort=SENTINEL).group_key
    got: list[GroupAlert] = []
    deadline = time.monotonic() + timeout
    while True:
        alert = q.get(timeout=max(0.0, deadline - time.monotonic()))
        if alert.group_key == sentinel:
            return got
        got.append(alert)


def raise_sentinel(store: Store) -> None:
    for n in range(3):
        screen(store, keys(f"{SENTINEL}-m{n}", escort=SENTINEL))


def replica(
    url: str, passports: list[str], escort: str, barrier: Any, out: Any, timeout: float
) -> None:
    """One server process: open the store, screen when every replica is ready, then
    report what it screened and how many alerts its watchers received."""
    hub = AlertHub()
    store = open_store(url, hub)
    try:
        with hub.subscribe("CGK", "MODE_LIVE") as q:
            barrier.wait()
            results = screen_concurrently(store, passports, escort)
            barrier.wait()  # every replica has finished screening; the sentinel follows
            out.put({"results": results, "received": len(until_sentinel(q, timeout))})
    except BaseException as e:
        out.put({"error": repr(e)})
        raise
    finally:
        store.close()


def screen_until_killed(url: str, conn: Any) -> None:
    """Screen one traveller after another, acknowledging each after it returned."""
    store = open_store(url)
    n = 0
    while True:
        k = keys(f"K{n}", escort=f"KE{n % 5}", request_id=f"kill-{n}")
        screen(store, k)
        conn.send(k.request_id)
        n += 1
