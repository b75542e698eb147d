"""Purging a large store is no outage: screening goes on with short waits throughout."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time

from departure_screening.store.sqlbase import SqlStore
from support.store_helpers import StoreKit, assessment, keys, screen

RECORDS = 50_000
# What a counter may wait for one screening while a purge runs: the bound users rely on.
MOST_WAIT = 1.0


def fill(store: SqlStore, n: int, oldest: dt.datetime) -> None:
    """``n`` screenings without a group, one microsecond apart, in large transactions."""
    for start in range(0, n, 1000):
        batch = [keys(f"OLD{i:07d}") for i in range(start, min(n, start + 1000))]
        with store.screenings(batch) as txs:
            for i, (k, tx) in enumerate(zip(batch, txs, strict=True)):
                tx.save(assessment(k, at=oldest + dt.timedelta(microseconds=start + i)), None)


def test_screening_goes_on_while_50000_records_are_purged(durable_kit: StoreKit) -> None:
    store = durable_kit.open()
    assert isinstance(store, SqlStore)
    now = dt.datetime.now(dt.UTC)
    fill(store, RECORDS, now - dt.timedelta(days=60))

    waits: list[float] = []
    purging = threading.Event()
    stop = threading.Event()

    def counter() -> None:
        n = 0
        while not stop.is_set():
            started = time.monotonic()
            screen(store, keys(f"NEW{n:07d}"), at=dt.datetime.now(dt.UTC))
            if purging.is_set():
                waits.append(time.monotonic() - started)
            n += 1

    thread = threading.Thread(target=counter)
    thread.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPSCREEN_")}
    try:
        purge = subprocess.Popen(
            [
                *(sys.executable, "-m", "departure_screening", "audit", "purge"),
                *("--store", durable_kit.url, "--older-than", "30"),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        purging.set()
        out, err = purge.communicate(timeout=600)
        purging.clear()
    finally:
        stop.set()
        thread.join(60)
    assert purge.returncode == 0, err
    assert f"removed {RECORDS} assessments" in out
    assert len(waits) >= 20, "screening did not go on during the purge"
    print(f"max wait {max(waits):.3f} s over {len(waits)} screenings")
    assert max(waits) < MOST_WAIT, f"a screening waited {max(waits):.2f} s during the purge"
    report = store.verify_chain()
    assert report.ok, report.broken
