"""A counter drill for one trainee at a terminal.

The scenario is generated in full; a handful of its travellers come to the trainee's
counter one at a time, and the rest are screened silently "at the other counters" in
departure order, so that groups and histories build up as they would on the day. For
each traveller the trainee sees what an officer sees (passport masked), picks an
action, then sees the service's assessment and the ground truth.

Each answer is recorded as a ``Decision`` with the time the trainee took, from the moment
the traveller was shown to the answer, for the trainee's own debrief (``trainee.py``).

Input, output and the clock are injectable (``input_stream``, ``console``, ``clock``) so
that tests drive the prompts; every screening is in MODE_TRAINING.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

import grpc
from rich.console import Console
from rich.table import Table

from departure_screening.exercise.generate import GeneratedTraveller, to_date
from departure_screening.exercise.passenger_lists import heads_up_line
from departure_screening.exercise.results import Observed
from departure_screening.exercise.run import (
    EXERCISE_OFFICER,
    ExerciseError,
    check_training,
    record_decision,
)
from departure_screening.exercise.scenario import OBSERVATIONS, PURPOSES, VISAS, Scenario
from departure_screening.exercise.trainee import (
    ACTION_WORDS,
    INTERVIEW,
    POSTPONE,
    PROCEED,
    Decision,
)
from departure_screening.manifest.headsup import Traveller as HeadsUpEntry
from departure_screening.privacy.masking import mask_number
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc

DEFAULT_PRESENTED = 10
CHOICES = {"1": PROCEED, "2": INTERVIEW, "3": POSTPONE}
_STRICTNESS = {PROCEED: 0, INTERVIEW: 1, POSTPONE: 2}
_PURPOSE_WORDS = {v: k.replace("_", " ") for k, v in PURPOSES.items()}
_VISA_WORDS = {v: k.replace("_", " ") for k, v in VISAS.items()}
_OBSERVATION_WORDS = {v: k.replace("_", " ") for k, v in OBSERVATIONS.items()}
_COUNTRIES = {
    "KH": "Cambodia",
    "MM": "Myanmar",
    "LA": "Laos",
    "PH": "Philippines",
    "TH": "Thailand",
    "MY": "Malaysia",
    "SG": "Singapore",
    "VN": "Vietnam",
    "CN": "China",
    "HK": "Hong Kong",
    "TW": "Taiwan",
    "JP": "Japan",
    "KR": "South Korea",
    "SA": "Saudi Arabia",
    "AE": "United Arab Emirates",
    "QA": "Qatar",
    "TR": "Türkiye",
    "AU": "Australia",
    "NL": "Netherlands",
    "GB": "United Kingdom",
    "ID": "Indonesia",
}
_NETWORK_CODES = {"UNAVAILABLE", "DEADLINE_EXCEEDED", "UNAUTHENTICATED", "PERMISSION_DENIED"}


class ScreenRejected(Exception):
    """The service answered a screening with an error status."""


class DrillClient(Protocol):
    def screen(self, screening: pb.Screening) -> pb.Assessment: ...

    def record_decision(self, assessment_id: str, decision: str) -> str:
        """Record a scripted decision; "" when stored, else why not."""
        ...


class GrpcDrillClient:
    """The drill's view of the service: unary ``Screen``, as at a counter."""

    def __init__(self, channel: grpc.Channel, officer: str = EXERCISE_OFFICER) -> None:
        self._stub = pb_grpc.ScreeningServiceStub(channel)
        # With an officer token the service records its subject: decisions name the same one.
        self._officer = officer

    def screen(self, screening: pb.Screening) -> pb.Assessment:
        try:
            response: pb.ScreenResponse = self._stub.Screen(
                pb.ScreenRequest(screening=screening), timeout=30
            )
        except grpc.RpcError as exc:
            code: Any = exc.code()
            if code.name in _NETWORK_CODES:
                raise ExerciseError(f"the service failed: {code.name}: {exc.details()}") from exc
            raise ScreenRejected(f"{code.name}: {exc.details()}") from exc
        return response.assessment

    def record_decision(self, assessment_id: str, decision: str) -> str:
        return record_decision(self._stub, assessment_id, decision, officer=self._officer)


@dataclass
class DrillSummary:
    presented: int
    answered: int = 0
    matched_service: int = 0
    correct_truth: int = 0
    service_correct_truth: int = 0
    at_risk_seen: int = 0
    at_risk_stopped: int = 0
    genuine_seen: int = 0
    genuine_cleared: int = 0
    rejected: int = 0
    quit_early: bool = False
    notes: list[str] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    ruleset_version: str = ""


def choose_presented(travellers: Sequence[GeneratedTraveller], count: int, seed: int) -> list[int]:
    """Which travellers come to the trainee's counter: about half planted, half genuine.

    Travellers whose screening carries a scripted decision are history (an earlier shift)
    and never presented. Planted travellers are drawn from the later half of their case,
    where group and history indicators have built up, one case at a time in turn; genuine
    travellers one profile at a time in turn, so that the rarer hard profiles (a one-way
    backpacker, a pilgrim group) come to the counter and not only holiday makers.
    """
    rng = random.Random(f"drill:{seed}")
    planted: dict[str, list[int]] = {}
    genuine: list[int] = []
    for i, item in enumerate(travellers):
        if item.truth.decision:
            continue
        if item.truth.planted:
            planted.setdefault(item.truth.case, []).append(i)
        else:
            genuine.append(i)
    pools = [indices[len(indices) // 2 :] for indices in planted.values()]
    want_planted = min(sum(len(p) for p in pools), max(1, count // 2) if pools else 0)
    chosen: list[int] = []
    while len(chosen) < want_planted:
        for pool in pools:
            if pool and len(chosen) < want_planted:
                chosen.append(pool.pop(rng.randrange(len(pool))))
    chosen += _genuine_in_turn(travellers, genuine, count - len(chosen), rng)
    if len(chosen) < count:  # a scenario short of genuine travellers: more planted ones
        spare = [i for pool in pools for i in pool]
        chosen += rng.sample(spare, min(count - len(chosen), len(spare)))
    return sorted(chosen)


def _genuine_in_turn(
    travellers: Sequence[GeneratedTraveller], genuine: list[int], want: int, rng: random.Random
) -> list[int]:
    by_profile: dict[str, list[int]] = {}
    for i in genuine:
        by_profile.setdefault(travellers[i].truth.case, []).append(i)
    pools = list(by_profile.values())
    rng.shuffle(pools)
    chosen: list[int] = []
    while len(chosen) < want and any(pools):
        for pool in pools:
            if pool and len(chosen) < want:
                chosen.append(pool.pop(rng.randrange(len(pool))))
    return chosen


def run_drill(
    travellers: Sequence[GeneratedTraveller],
    client: DrillClient,
    *,
    presented: Sequence[int],
    scenario: Scenario,
    input_stream: TextIO,
    console: Console,
    clock: Callable[[], float] = time.monotonic,
    heads_up: Mapping[int, HeadsUpEntry] | None = None,
) -> DrillSummary:
    """With ``heads_up`` (the scenario's passenger lists, screened before the counter),
    each traveller's entry of the heads-up list is shown beside the counter."""
    check_training(travellers)
    summary = DrillSummary(presented=len(presented))
    _instructions(console, scenario, len(presented))
    screened = 0
    for turn, index in enumerate(presented, start=1):
        screened = _background(travellers, client, screened, index, summary, console)
        item = travellers[index]
        beside = None if heads_up is None else heads_up_line(heads_up.get(index))
        _show_traveller(console, item, turn, len(presented), beside)
        shown_at = clock()
        action = _ask(console, input_stream)
        seconds = round(max(0.0, clock() - shown_at), 1)
        if action is None:
            summary.quit_early = True
            break
        try:
            assessment = client.screen(item.screening)
        except ScreenRejected as exc:
            summary.rejected += 1
            console.print(f"[bold red]The service rejected this screening:[/] {exc}")
            screened = index + 1
            continue
        screened = index + 1
        observed = Observed.from_assessment(assessment)
        _score(summary, item, observed, action)
        summary.decisions.append(_decision(turn, item, observed, action, seconds))
        summary.ruleset_version = summary.ruleset_version or observed.ruleset_version
        _show_outcome(console, item, assessment, action, scenario)
    _show_summary(console, summary)
    return summary


def _decision(
    turn: int, item: GeneratedTraveller, observed: Observed, action: str, seconds: float
) -> Decision:
    return Decision(
        turn=turn,
        request_id=item.screening.request_id,
        passport=mask_number(item.screening.traveller.passport_number),
        case=item.truth.case,
        at_risk=item.truth.at_risk,
        step=item.truth.step,
        action=action,
        seconds=seconds,
        service_action=observed.action,
        service_band=observed.band,
        service_score=observed.score,
        indicators=observed.indicators,
    )


# --------------------------------------------------------------------------- steps


def _instructions(console: Console, scenario: Scenario, count: int) -> None:
    console.rule(f"Departure screening drill: {scenario.name}")
    console.print(scenario.description)
    console.print(
        "\nYou are the immigration officer at the departure counter. "
        f"{count} travellers will come to you one at a time. For each one, read the trip "
        "and declaration facts, then type one key and press Enter:\n"
        "  [bold]1[/]  proceed: the traveller departs\n"
        "  [bold]2[/]  secondary interview: interview the traveller before deciding\n"
        "  [bold]3[/]  postpone: postpone departure pending verification of documents\n"
        "  [bold]q[/]  quit now and see your score so far\n"
        "After your choice you see the service's assessment (risk band, score, the indicators "
        "that fired and what would clear them) and the truth about the traveller. An at-risk "
        "traveller is handled correctly with 2 or 3, a genuine one with 1. At the end you get "
        "your score against the service's recommendation and against the ground truth; "
        "your decisions and the time each took go into your own debrief.\n"
        "Other counters screen the rest of the day's travellers in the background, so groups "
        "and travel histories build up as they would on a real shift. This is training mode: "
        "nothing here touches live records or statistics.\n"
    )


def _background(
    travellers: Sequence[GeneratedTraveller],
    client: DrillClient,
    start: int,
    stop: int,
    summary: DrillSummary,
    console: Console,
) -> int:
    """Screen travellers[start:stop] silently, with their scripted decisions."""
    if stop <= start:
        return start
    with console.status(f"Other counters are screening {stop - start} travellers..."):
        for item in travellers[start:stop]:
            try:
                assessment = client.screen(item.screening)
            except ScreenRejected:
                continue
            if item.truth.decision:
                reason = client.record_decision(assessment.assessment_id, item.truth.decision)
                if reason and not summary.notes:
                    summary.notes.append(
                        f"Earlier decisions could not be recorded ({reason}): a traveller "
                        "who tries again after a postponement will not show it in this drill."
                    )
                    console.print(f"[yellow]Note:[/] {summary.notes[-1]}")
    return stop


def _country(code: str) -> str:
    name = _COUNTRIES.get(code)
    return f"{name} ({code})" if name else code


def _show_traveller(
    console: Console, item: GeneratedTraveller, turn: int, total: int, heads_up: str | None = None
) -> None:
    s = item.screening
    departure = to_date(s.trip.departure_date)
    birth = to_date(s.traveller.birth_date)
    issued = to_date(s.traveller.passport_issue_date)
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    route = " via " + ", ".join(_country(c) for c in s.trip.transit_countries)
    table.add_row("Checkpoint", s.checkpoint)
    table.add_row(
        "Passport",
        f"{mask_number(s.traveller.passport_number)}, {_country(s.traveller.nationality)}, "
        f"issued {issued.isoformat()} ({(departure - issued).days} days before departure)",
    )
    table.add_row("Age", f"{_age(birth, departure)} (born {birth.isoformat()})")
    table.add_row(
        "Flight",
        f"{s.trip.flight_number} on {departure.isoformat()} to "
        f"{_country(s.trip.destination_country)}"
        f"{route if s.trip.transit_countries else ', direct'}",
    )
    table.add_row("Return ticket", "yes" if s.trip.has_return_ticket else "no")
    table.add_row("Booking", s.trip.booking_reference or "-")
    table.add_row(
        "Escort",
        f"travelling with escort {mask_number(s.trip.escort_passport_number)}"
        if s.trip.escort_passport_number
        else "none identified",
    )
    table.add_row("Purpose", _PURPOSE_WORDS.get(s.declaration.purpose, "not declared"))
    table.add_row("Visa / entry", _VISA_WORDS.get(s.declaration.visa_type, "not declared"))
    table.add_row("Disnaker letter", s.declaration.disnaker_recommendation_number or "none")
    table.add_row("BP2MI registration", s.declaration.bp2mi_registration_number or "none")
    table.add_row("Tour-operator licence", s.trip.tour_operator_license or "none")
    notes = [_OBSERVATION_WORDS.get(o, str(o)) for o in s.observations]
    table.add_row("Interview notes", "; ".join(notes) if notes else "none")
    if heads_up is not None:
        table.add_row("Heads-up list", heads_up)
    console.rule(f"Traveller {turn} of {total}")
    console.print(table)


def _ask(console: Console, input_stream: TextIO) -> str | None:
    """The trainee's action, or None to quit (q, or the end of input)."""
    while True:
        console.print(
            "Your action? [bold]1[/] proceed, [bold]2[/] secondary interview, "
            "[bold]3[/] postpone, [bold]q[/] quit: ",
            end="",
        )
        console.file.flush()
        line = input_stream.readline()
        if not line:
            console.print("\n(end of input: stopping the drill)")
            return None
        answer = line.strip().lower()
        if not input_stream.isatty():
            console.print(answer, markup=False)  # piped answers would not appear otherwise
        if answer in ("q", "quit"):
            return None
        if answer in CHOICES:
            return CHOICES[answer]
        shown = f"'{line.strip()}' is not a choice. " if answer else ""
        console.print(f"[red]{shown}[/]Please type 1, 2, 3 or q, then Enter.", markup=True)


def _score(
    summary: DrillSummary, item: GeneratedTraveller, observed: Observed, action: str
) -> None:
    summary.answered += 1
    stopped = action != PROCEED
    if action == observed.action:
        summary.matched_service += 1
    if item.truth.at_risk:
        summary.at_risk_seen += 1
        summary.at_risk_stopped += stopped
    else:
        summary.genuine_seen += 1
        summary.genuine_cleared += not stopped
    summary.correct_truth += stopped == item.truth.at_risk
    summary.service_correct_truth += observed.flagged == item.truth.at_risk


def _show_outcome(
    console: Console,
    item: GeneratedTraveller,
    assessment: pb.Assessment,
    action: str,
    scenario: Scenario,
) -> None:
    recommended = pb.Action.Name(assessment.recommended_action)
    band = pb.RiskBand.Name(assessment.band).removeprefix("RISK_BAND_")
    console.print(
        f"\n[bold]Service's assessment:[/] band {band}, score {assessment.score}, "
        f"recommends {ACTION_WORDS.get(recommended, recommended)}."
    )
    if assessment.indicators:
        table = Table("indicator", "weight", "what clears it")
        table.columns[1].justify = "right"
        for i in assessment.indicators:
            table.add_row(f"[bold]{i.code}[/]\n{i.title}", f"{i.weight:+d}", i.remedy or "-")
        console.print(table)
    else:
        console.print("No indicator fired.")
    truth = item.truth
    if truth.at_risk:
        case = scenario.case(truth.case)
        detail = f": {case.description}" if case and case.description else ""
        step = f" ({truth.step})" if truth.step else ""
        console.print(
            f"[bold red]Ground truth: AT RISK[/], planted case {truth.case}{step}{detail}"
        )
    else:
        console.print(f"[bold green]Ground truth: genuine traveller[/] ({truth.case})")
    guidance = scenario.guidance(truth.case, at_risk=truth.at_risk)
    if guidance.officer:
        console.print(f"What settles it at the counter: {guidance.officer}", markup=False)
    versus = _versus(action, recommended)
    correct = (action != PROCEED) == truth.at_risk
    console.print(
        f"You chose {ACTION_WORDS[action]}: {versus} the service's recommendation; "
        f"{'[green]right[/]' if correct else '[red]wrong[/]'} against the ground truth.\n"
    )


def _versus(action: str, recommended: str) -> str:
    mine, theirs = _STRICTNESS[action], _STRICTNESS.get(recommended, 0)
    if mine == theirs:
        return "the same as"
    return "stricter than" if mine > theirs else "more lenient than"


def _show_summary(console: Console, s: DrillSummary) -> None:
    console.rule("Your score")
    if s.quit_early:
        console.print(f"You stopped after {s.answered} of {s.presented} travellers.")
    if not s.answered:
        console.print("No traveller was assessed, so there is no score yet.")
        return
    console.print(
        f"Against the service's recommendation: {s.matched_service} of {s.answered} "
        f"({_share(s.matched_service, s.answered)}) the same action.\n"
        f"Against the ground truth: {s.correct_truth} of {s.answered} "
        f"({_share(s.correct_truth, s.answered)}) right: you stopped {s.at_risk_stopped} of "
        f"{s.at_risk_seen} at-risk travellers and let {s.genuine_cleared} of "
        f"{s.genuine_seen} genuine travellers proceed.\n"
        f"The service itself was right for {s.service_correct_truth} of {s.answered}."
    )
    if s.rejected:
        console.print(f"{s.rejected} screening(s) were rejected by the service and not scored.")


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "n/a"


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
