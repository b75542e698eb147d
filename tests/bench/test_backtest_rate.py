"""``depscreen bench --backtest``: a store filled and ``rules backtest`` timed on it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def test_the_backtest_phase_reports_its_rate_and_verdict() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "departure_screening", "bench", "--backtest", "300", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    figures = result["backtest"]
    assert figures["assessments"] == 300
    assert figures["seconds"] > 0
    assert figures["assessments_per_s"] == pytest.approx(300 / figures["seconds"], rel=0.02)
    # The 30 s of 25,000 scaled to the size asked for.
    assert figures["target_seconds"] == 30.0 * 300 / 25_000
    assert figures["met"] == (figures["seconds"] <= figures["target_seconds"])
    assert result["machine"]["python_loop_ms"] > 0
