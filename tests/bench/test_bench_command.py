"""``depscreen bench`` runs end to end and reports every figure (no speed asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from departure_screening.store.factory import open_audit_store
from departure_screening.store.sqlite import SqliteStore
from support.store_helpers import keys, screen

SMALL = ["--seconds", "0.3", "--screenings", "500", "--replay", "500", "--rate", "50"]


def _bench(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "departure_screening", "bench", "--json", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


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
    assert abs(unary["ratio_durable"] - unary["screen_rps"] / unary["durable_baseline_rps"]) < 0.001
    for key in ("cpu_us_per_call", "baseline_cpu_us_per_call", "durable_baseline_cpu_us_per_call"):
        assert unary[key] > 0 and figures["stream"][key] > 0
    assert figures["stream"]["screen_per_s"] > 0 and figures["stream"]["ratio"] > 0
    stream = figures["stream"]
    assert stream["durable_baseline_per_s"] > 0
    assert (
        abs(stream["ratio_durable"] - stream["screen_per_s"] / stream["durable_baseline_per_s"])
        < 0.001
    )
    assert 0 < figures["latency_ms"]["p50"] <= figures["latency_ms"]["p99"]
    assert figures["latency_ms"]["rate"] == 50
    streams = figures["streams"]
    assert streams["watchers"] == 200 and streams["manifest_streams"] == 20
    assert streams["p99_ms_without"] > 0 and streams["p99_ms_with"] > 0
    assert figures["memory"]["screenings"] == 1000 and figures["memory"]["rss_start_mb"] > 0
    assert figures["replay"]["screenings"] == 500 and figures["replay"]["seconds"] > 0
    assert figures["replay"]["streams"] >= 1
    replay = figures["replay"]
    assert replay["durable_baseline_seconds"] > 0
    # The seconds are rounded to hundredths, the ratio is not: allow what that rounding moves.
    seconds, durable_seconds = replay["seconds"], replay["durable_baseline_seconds"]
    rounding = seconds / durable_seconds * (0.005 / seconds + 0.005 / durable_seconds)
    assert abs(replay["ratio_durable"] - seconds / durable_seconds) <= rounding + 0.001
    overload = figures["overload"]
    assert overload["sustainable_rps"] == unary["screen_rps"]
    assert overload["offered_rps"] > 0 and overload["admitted_rps"] > 0
    assert 0 <= overload["refused_share"] <= 1
    # On a loaded host gRPC's transport may refuse streams too (UNAVAILABLE); never INTERNAL.
    assert overload["other_errors"] == sum(overload["other_codes"].values())
    assert "INTERNAL" not in overload["other_codes"]
    assert 0 < overload["admitted_p50_ms"] <= overload["admitted_p99_ms"]
    paxlst = figures["paxlst"]
    assert paxlst["passengers"] == 400 and paxlst["files"] >= 1
    # Every generated passenger the reader takes is screened; its rejections are few.
    assert 0.8 * 400 * paxlst["files"] <= paxlst["screened"] <= 400 * paxlst["files"]
    assert paxlst["per_s_best"] >= paxlst["per_s_median"] > 0
    assert paxlst["seconds_median"] > 0
    assert figures["processes"] >= 1
    host = figures["machine"]
    assert host["cpus"] >= 1 and host["cpu"] and host["python_loop_ms"] > 0
    assert figures["store"] == "sqlite"
    access = figures["access"]
    assert access["plain_rps"] > 0 and access["mtls_rps"] > 0
    assert access["durable_baseline_mtls_rps"] > 0
    assert abs(access["ratio"] - access["mtls_rps"] / access["plain_rps"]) < 0.001
    assert (
        abs(access["ratio_durable"] - access["mtls_rps"] / access["durable_baseline_mtls_rps"])
        < 0.001
    )
    cost = (1 / access["mtls_rps"] - 1 / access["plain_rps"]) * 1e6
    assert abs(access["cost_us_per_call"] - cost) < 1
    assert figures["targets_met"]["access.ratio"] == (access["ratio"] >= 0.85)
    assert set(figures["targets_met"]) == {
        "unary.ratio_durable",
        "stream.ratio_durable",
        "replay.ratio_durable",
        "latency_ms.p99",
        "streams.p99_ms_with",
        "memory.growth_pct",
        "access.ratio",
    }


def test_bench_measures_the_postgresql_store_it_is_given(pg_database: str) -> None:
    result = _bench(*SMALL, "--processes", "2", "--store", pg_database)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["store"] == "postgresql" and figures["processes"] == 2
    assert figures["unary"]["screen_rps"] > 0 and figures["stream"]["screen_per_s"] > 0
    # Every phase's screenings went into that database, each with its audit link.
    store = open_audit_store(pg_database)
    try:
        assert store.chain_head().seq >= 500 + 500
        assert store.verify_chain().ok
    finally:
        store.close()


def test_bench_refuses_a_store_that_holds_screenings_and_leaves_it_alone(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    store = SqliteStore(path)
    try:
        screen(store, keys("A1000001"))
        before = store.chain_head()
    finally:
        store.close()
    result = _bench(*SMALL, "--store", f"sqlite:///{path}", timeout=60)
    assert result.returncode == 2
    assert "not empty (its audit chain is at link 1)" in result.stderr
    assert result.stdout == ""
    store = SqliteStore(path)
    try:
        assert store.chain_head() == before
    finally:
        store.close()


def test_bench_reports_a_server_that_cannot_start_at_once() -> None:
    # Several processes cannot share an in-memory store: serve refuses, and the bench
    # says so instead of waiting out its start-up timeout.
    result = _bench(*SMALL, "--processes", "2", "--store", "memory:", timeout=30)
    assert result.returncode == 2
    assert "cannot be shared by several processes" in result.stderr


def test_bench_refuses_fewer_than_one_process_before_starting_anything() -> None:
    result = _bench(*SMALL, "--processes", "0", timeout=30)
    assert result.returncode == 2
    assert "--processes: must be at least 1, got 0" in result.stderr


def test_bench_runs_only_the_phases_it_is_given() -> None:
    result = _bench(*SMALL, "--phases", "memory,latency", "--processes", "1")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["phases"] == ["latency", "memory"]  # in the order the bench runs them
    assert figures["latency_ms"]["p99"] > 0 and figures["memory"]["rss_start_mb"] > 0
    assert figures["memory"]["warmup_screenings"] == 500  # a manifest, the least
    assert not {"unary", "stream", "replay", "streams"} & figures.keys()
    assert set(figures["targets_met"]) == {"latency_ms.p99", "memory.growth_pct"}


def test_bench_refuses_a_phase_it_does_not_know() -> None:
    result = _bench(*SMALL, "--phases", "unary,warp", timeout=60)
    assert result.returncode == 2
    assert "unknown phase 'warp'" in result.stderr and "unary, stream, replay" in result.stderr
    assert result.stdout == ""
