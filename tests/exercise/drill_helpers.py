"""Drive the counter drill against a real server, with scripted answers and a fake clock."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path

from departure_screening.exercise.drill import GrpcDrillClient, choose_presented, run_drill
from departure_screening.exercise.generate import GeneratedTraveller, generate
from departure_screening.exercise.run import connect
from departure_screening.exercise.scenario import Scenario, load_scenario
from departure_screening.exercise.trainee import TraineeDebrief, build_debrief, write_debrief
from rich.console import Console


class SteppingClock:
    """Each reading is ``step`` seconds after the previous one: every answer takes ``step``."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def drill_session(
    target: str,
    *,
    scenario: Scenario,
    seed: int,
    count: int,
    trainee: str,
    answer: Callable[[GeneratedTraveller], str],
    clock: Callable[[], float] | None = None,
    out: Path | None = None,
) -> tuple[TraineeDebrief, str, list[GeneratedTraveller], Sequence[int]]:
    """One trainee's drill: ``answer`` gives the key typed for each presented traveller."""
    travellers = generate(scenario, seed)
    presented = choose_presented(travellers, count, seed)
    answers = "".join(f"{answer(travellers[i])}\n" for i in presented)
    text = io.StringIO()
    console = Console(file=text, width=120, color_system=None, highlight=False)
    channel = connect(target)
    try:
        summary = run_drill(
            travellers,
            GrpcDrillClient(channel),
            presented=presented,
            scenario=scenario,
            input_stream=io.StringIO(answers),
            console=console,
            clock=clock or SteppingClock(2.0),
        )
    finally:
        channel.close()
    debrief = build_debrief(
        summary.decisions,
        scenario,
        trainee=trainee,
        seed=seed,
        presented=summary.presented,
        quit_early=summary.quit_early,
        rejected=summary.rejected,
        ruleset_version=summary.ruleset_version,
    )
    if out is not None:
        write_debrief(debrief, out)
    return debrief, text.getvalue(), travellers, presented


def cambodia() -> Scenario:
    return load_scenario("cambodia-scam-recruitment")
