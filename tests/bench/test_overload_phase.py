"""The bench's overload phase counts what the service admits and what it refuses.

The service is the real one (a ``depscreen serve`` child of the bench's own
starter) with a commit queue of three, and its SQLite store is held by another
connection while the phase sends: exactly three calls are admitted (and answered
once the store is let go), every other one is refused. No speed is asserted.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from departure_screening.bench.children import service_environment, start_service
from departure_screening.bench.phases import OVERLOAD_FACTOR, Traffic, overload

QUEUE = 3
SUSTAINABLE = 40.0
SECONDS = 1.0


def test_the_phase_reports_admitted_and_refused_calls_at_twice_the_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPSCREEN_MAX_COMMIT_QUEUE", str(QUEUE))
    service = start_service(tmp_path, service_environment(tmp_path))
    other = sqlite3.connect(tmp_path / "bench.db", isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")
        # Let go once every call has been sent; the admitted ones are answered then.
        release = threading.Timer(SECONDS + 1.0, lambda: other.execute("ROLLBACK"))
        release.start()
        figures = overload(service.target, SUSTAINABLE, SECONDS, Traffic("overload-test"))
        release.join()
        with sqlite3.connect(tmp_path / "bench.db") as conn:
            stored = conn.execute("SELECT COUNT(*) FROM assessments").fetchone()[0]
    finally:
        other.close()
        service.stop()
    offered = int(SUSTAINABLE * OVERLOAD_FACTOR * SECONDS)
    assert stored == QUEUE
    assert figures["sustainable_rps"] == SUSTAINABLE
    assert figures["offered_rps"] > 0 and figures["admitted_rps"] > 0
    assert figures["refused_share"] == round((offered - QUEUE) / offered, 3)
    assert figures["other_errors"] == 0
    assert 0 < figures["admitted_p50_ms"] <= figures["admitted_p99_ms"]
