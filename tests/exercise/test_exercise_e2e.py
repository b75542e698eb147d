"""Exercises against a real `depscreen serve` process (the session's `server` fixture)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Protocol

import pytest
from departure_screening.exercise.debrief import Debrief, compute_debrief
from departure_screening.exercise.drill import GrpcDrillClient, choose_presented, run_drill
from departure_screening.exercise.generate import generate
from departure_screening.exercise.results import RunResult
from departure_screening.exercise.run import connect, run_exercise
from departure_screening.exercise.scenario import bundled_names, load_scenario
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

EXERCISE = [sys.executable, "-m", "departure_screening.exercise"]


class Server(Protocol):
    @property
    def target(self) -> str: ...

    def metrics_text(self) -> str: ...


def _exercise(server: Server, name: str, seed: int, travellers: int | None = None) -> Debrief:
    scenario = load_scenario(name)
    result: RunResult = run_exercise(
        generate(scenario, seed, travellers), server.target, progress=False
    )
    return compute_debrief(
        result.results,
        scenario,
        seed=seed,
        not_evaluable=result.not_evaluable,
        ruleset_version=result.ruleset_version,
    )


@pytest.mark.parametrize("name", bundled_names())
def test_bundled_scenario_end_to_end(server: Server, name: str) -> None:
    d = _exercise(server, name, seed=2024)
    assert d.travellers == load_scenario(name).travellers
    assert not d.rejected, d.rejected[:3]
    assert d.ruleset_version
    # Coached recruits are meant to slip through sometimes: the scenario states how often.
    assert d.within_intended() is True, (d.confusion, [m.reason for m in d.missed])
    assert d.groups_detected == d.groups_planted
    for case in d.planted_cases:
        if case.outcome == "not_evaluable":
            # Only acceptable when the server cannot record the scripted decision.
            assert case.kind == "retry" and "RecordDecision" in case.reason, case
            continue
        for code, hits in case.expected_indicators:
            assert hits > 0, f"{case.case}: {code} never fired"


def _live_and_training(metrics: str) -> tuple[dict[tuple[tuple[str, str], ...], float], float]:
    live: dict[tuple[tuple[str, str], ...], float] = {}
    training = 0.0
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name != "depscreen_screenings_total":
                continue
            if sample.labels.get("mode") == "live":
                live[tuple(sorted(sample.labels.items()))] = sample.value
            elif sample.labels.get("mode") == "training":
                training += sample.value
    return live, training


def test_exercise_leaves_live_metrics_alone(server: Server) -> None:
    live_before, training_before = _live_and_training(server.metrics_text())
    d = _exercise(server, "ordinary-day-cgk", seed=4242, travellers=100)
    live_after, training_after = _live_and_training(server.metrics_text())
    assert live_after == live_before
    assert training_after - training_before == d.travellers == 100


def _strip_latency(html: str) -> str:
    return re.sub(r'<section id="latency">.*?</section>', "", html, flags=re.S)


def test_report_is_identical_for_a_fixed_seed(server: Server, tmp_path: Path) -> None:
    outs = [tmp_path / "first", tmp_path / "second"]
    for out in outs:
        done = subprocess.run(
            [
                *EXERCISE,
                "run",
                "--scenario",
                "festival-event-group",
                "--seed",
                "77",
                "--travellers",
                "150",
                "--target",
                server.target,
                "--out",
                str(out),
                "--no-progress",
            ],
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert done.returncode == 0, done.stderr
        assert "report:" in done.stdout
    first, second = (json.loads((o / "report.json").read_text()) for o in outs)
    assert set(first["latency_ms"]) >= {"p50", "p95", "p99"}
    first.pop("latency_ms")
    second.pop("latency_ms")
    assert first == second
    assert first["travellers"] == 150
    html = [_strip_latency((o / "report.html").read_text()) for o in outs]
    assert html[0] == html[1]
    for png in ("confusion.png", "scores.png", "indicators.png"):
        assert (outs[0] / png).read_bytes() == (outs[1] / png).read_bytes()


def test_drill_driven_from_a_test(server: Server) -> None:
    scenario = load_scenario("cambodia-scam-recruitment")
    travellers = generate(scenario, 5)
    presented = choose_presented(travellers, 4, seed=5)
    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None, highlight=False)
    channel = connect(server.target)
    try:
        summary = run_drill(
            travellers,
            GrpcDrillClient(channel),
            presented=presented,
            scenario=scenario,
            input_stream=io.StringIO("2\nwhat\n2\n3\n1\n"),
            console=console,
        )
    finally:
        channel.close()
    text = out.getvalue()
    assert summary.answered == 4 and summary.rejected == 0
    assert summary.at_risk_seen + summary.genuine_seen == 4
    assert text.count("Service's assessment: band ") == 4
    assert "'what' is not a choice" in text
    assert "Against the service's recommendation" in text
    assert "Against the ground truth" in text


def test_drill_as_a_process_with_piped_input(server: Server, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            *EXERCISE,
            "drill",
            "--scenario",
            "ordinary-day-cgk",
            "--seed",
            "3",
            "--travellers",
            "3",
            "--target",
            server.target,
            "--trainee",
            "T05",
        ],
        cwd=tmp_path,
        input="1\nmaybe\n2\n3\n",
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "You are the immigration officer" in out
    assert "Traveller 3 of 3" in out
    assert "'maybe' is not a choice" in out
    assert out.count("Ground truth:") == 3
    assert "Against the ground truth:" in out
    # The debrief lands in drill-<trainee>, labelled with the id alone.
    assert "Your debrief: drill-T05/debrief.md" in out
    debrief = json.loads((tmp_path / "drill-T05" / "debrief.json").read_text())
    assert debrief["trainee"] == "T05"
    assert [d["action"] for d in debrief["decisions"]] == [
        "ACTION_PROCEED",
        "ACTION_SECONDARY_INTERVIEW",
        "ACTION_POSTPONE_PENDING_VERIFICATION",
    ]
    assert all(d["seconds"] >= 0 for d in debrief["decisions"])
