"""``depscreen bench`` runs end to end and reports every figure (no speed asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_reports_every_figure_as_json() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "departure_screening",
            "bench",
            "--json",
            "--seconds",
            "0.5",
            "--screenings",
            "1000",
            "--replay",
            "500",
            "--rate",
            "50",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["unary"]["screen_rps"] > 0 and figures["unary"]["baseline_rps"] > 0
    unary = figures["unary"]
    assert abs(unary["ratio"] - unary["screen_rps"] / unary["baseline_rps"]) < 0.001
    assert figures["stream"]["screen_per_s"] > 0 and figures["stream"]["ratio"] > 0
    assert 0 < figures["latency_ms"]["p50"] <= figures["latency_ms"]["p99"]
    assert figures["latency_ms"]["rate"] == 50
    assert figures["memory"]["screenings"] == 1000 and figures["memory"]["rss_start_mb"] > 0
    assert figures["replay"]["screenings"] == 500 and figures["replay"]["seconds"] > 0
    assert figures["replay"]["streams"] >= 1
    assert figures["processes"] >= 1
    assert set(figures["targets_met"]) == {
        "unary.ratio",
        "stream.ratio",
        "latency_ms.p99",
        "memory.growth_pct",
        "replay.seconds",
    }
