"""``depscreen exercise``: list, generate, run, drill and class-report training exercises.

The main command line registers these with ``add_exercise_parser``; the same commands
also run stand-alone as ``python -m departure_screening.exercise``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
from rich.console import Console
from rich.markup import escape

from departure_screening.access.client import (
    ClientConfigError,
    add_client_arguments,
    client_credentials,
)
from departure_screening.exercise.generate import (
    MAX_SEED,
    GeneratedTraveller,
    GenerationError,
    generate,
    to_json_line,
)
from departure_screening.exercise.scenario import (
    ScenarioError,
    bundled_names,
    load_scenario,
)
from departure_screening.serving.config import at_least_one
from departure_screening.v1 import screening_pb2_grpc as pb_grpc

DEFAULT_TARGET = "127.0.0.1:50051"
DEFAULT_DRILL_SEED = 1
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

if TYPE_CHECKING:  # argparse's class is generic only to type checkers
    from departure_screening.manifest.headsup import Traveller as HeadsUpEntry

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def add_exercise_parser(subparsers: Subparsers) -> None:
    """Register ``exercise`` and its sub-commands on the main command line."""
    parser = subparsers.add_parser(
        "exercise",
        help="training exercises: synthetic flights with planted cases, in training mode",
        description="Training exercises: synthetic travellers with planted at-risk cases, "
        "screened in MODE_TRAINING so that nothing touches live records or live metrics.",
    )
    parser.set_defaults(func=lambda _args: _usage(parser))
    _add_commands(parser.add_subparsers(dest="exercise_command", metavar="COMMAND"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m departure_screening.exercise",
        description="Training exercises of the departure screening service.",
    )
    parser.set_defaults(func=lambda _args: _usage(parser))
    _add_commands(parser.add_subparsers(dest="exercise_command", metavar="COMMAND"))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def _add_commands(commands: Subparsers) -> None:
    listing = commands.add_parser("list", help="list the bundled scenarios")
    listing.set_defaults(func=cmd_list)

    gen = commands.add_parser(
        "generate",
        help="write an exercise's screenings with their ground truth, one JSON per line",
        description="Generate the screenings of an exercise without sending them: one line "
        'per traveller, {"screening": <proto JSON>, "truth": {"at_risk": ..., "case": ...}}. '
        "Passport numbers are synthetic.",
    )
    _scenario_arguments(gen, seed_required=True)
    gen.add_argument("--format", choices=["jsonl"], default="jsonl", help="output format")
    gen.add_argument("--out", metavar="FILE", type=Path, help="write here instead of stdout")
    gen.set_defaults(func=cmd_generate)

    run = commands.add_parser(
        "run",
        help="stream an exercise through the service and write the debrief",
        description="Generate an exercise, stream it through ScreenManifest in MODE_TRAINING "
        "and write report.json, report.html and the PNG plots to --out.",
    )
    _scenario_arguments(run, seed_required=True)
    _target_argument(run)
    run.add_argument("--out", metavar="DIR", type=Path, required=True, help="report directory")
    run.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    run.set_defaults(func=cmd_run)

    drill = commands.add_parser(
        "drill",
        help="be the officer at the counter: decide for travellers one at a time",
        description="An interactive counter drill for one trainee. Travellers come one at a "
        "time; type 1 (proceed), 2 (secondary interview) or 3 (postpone), or q to stop. "
        "After each choice the service's assessment and the ground truth are shown.",
    )
    _scenario_arguments(
        drill,
        seed_required=False,
        travellers_help="how many travellers come to your counter "
        "(default %(default)s); the rest of the scenario is screened in the background",
    )
    drill.set_defaults(travellers=None)
    _target_argument(drill)
    drill.add_argument(
        "--trainee",
        required=True,
        type=_trainee,
        metavar="ID",
        help="the trainee's id, such as T07 (an id the instructor assigns, never a name); "
        "it labels the debrief",
    )
    drill.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        help="where to write the trainee's debrief (debrief.json, debrief.md); "
        "default drill-<ID> in the current directory",
    )
    drill.set_defaults(func=cmd_drill)

    klass = commands.add_parser(
        "class-report",
        help="combine the drill debriefs of a class into one report",
        description="Read the debrief of each trainee (the --out directories of `exercise "
        "drill`, all of one exercise: same scenario and seed) and write class-report.json, "
        "class-report.html and its PNG plots to --out: per-traveller outcomes across the "
        "class, the profiles most often misjudged and each trainee's rates beside the class.",
    )
    klass.add_argument("dirs", nargs="+", metavar="DIR", type=Path, help="drill debriefs")
    klass.add_argument("--out", metavar="DIR", type=Path, required=True, help="report directory")
    klass.set_defaults(func=cmd_class_report)


def _scenario_arguments(
    parser: argparse.ArgumentParser,
    *,
    seed_required: bool,
    travellers_help: str = "number of travellers, planted cases included "
    "(default: the scenario's own size)",
) -> None:
    parser.add_argument(
        "--scenario",
        required=True,
        metavar="NAME|FILE",
        help=f"a bundled scenario ({', '.join(bundled_names())}) or a scenario YAML file",
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        required=seed_required,
        default=None if seed_required else DEFAULT_DRILL_SEED,
        help="the same seed gives the same travellers"
        + ("" if seed_required else " (default %(default)s)"),
    )
    parser.add_argument("--travellers", type=at_least_one, metavar="N", help=travellers_help)


def _target_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        default=DEFAULT_TARGET,
        metavar="HOST:PORT",
        help="the screening service (default %(default)s)",
    )
    add_client_arguments(parser)


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be between 0 and {MAX_SEED}")
    return value


def _trainee(text: str) -> str:
    from departure_screening.exercise.trainee import check_trainee_id

    try:
        return check_trainee_id(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def _err() -> Console:
    return Console(stderr=True, highlight=False)


def _problem(exc: Exception | str) -> int:
    # Escaped: a message may hold brackets, e.g. an extra's name, that are not markup.
    _err().print(f"[red]error:[/] {escape(str(exc))}", markup=True, soft_wrap=True)
    return EXIT_USAGE


# --------------------------------------------------------------------------- commands


def cmd_list(args: argparse.Namespace) -> int:
    out = Console(highlight=False, soft_wrap=True)
    for name in bundled_names():
        try:
            scenario = load_scenario(name)
        except ScenarioError as exc:
            out.print(f"{name}  [red](invalid: {exc.problems[0]})[/]")
            continue
        out.print(f"[bold]{scenario.name}[/]  {scenario.description}")
    return EXIT_OK


def cmd_generate(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(args.scenario)
        travellers = generate(scenario, args.seed, args.travellers)
    except (ScenarioError, GenerationError) as exc:
        return _problem(exc)
    lines = "".join(to_json_line(item) + "\n" for item in travellers)
    if args.out is None:
        sys.stdout.write(lines)
        sys.stdout.flush()
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(lines, encoding="utf-8")
        _err().print(f"{len(travellers)} screenings written to {args.out}")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    # Imported here so that `list` and `generate` do not load gRPC and matplotlib.
    from departure_screening.exercise.debrief import compute_debrief
    from departure_screening.exercise.run import ExerciseError, run_exercise

    try:
        from departure_screening.exercise.report import write_report
    except ModuleNotFoundError as exc:  # a server install leaves the report's libraries out
        return _problem(
            f"the exercise report needs {exc.name}: pip install 'departure-screening[reports]'"
        )

    try:
        credentials = client_credentials(args)
        scenario = load_scenario(args.scenario)
        travellers = generate(scenario, args.seed, args.travellers)
    except (ClientConfigError, ScenarioError, GenerationError) as exc:
        return _problem(exc)
    err = _err()
    err.print(
        f"Exercise [bold]{scenario.name}[/], seed {args.seed}: {len(travellers)} travellers "
        f"to {args.target} in training mode"
    )
    try:
        result = run_exercise(
            travellers,
            args.target,
            console=err,
            progress=not args.no_progress,
            credentials=credentials,
        )
    except ExerciseError as exc:
        err.print(f"[red]error:[/] {exc}")
        return EXIT_FAILED
    debrief = compute_debrief(
        result.results,
        scenario,
        seed=args.seed,
        not_evaluable=result.not_evaluable,
        ruleset_version=result.ruleset_version,
    )
    files = write_report(debrief, args.out)
    c = debrief.confusion
    out = Console(highlight=False, soft_wrap=True)
    out.print(
        f"caught {c.tp} of {c.tp + c.fn} at-risk travellers (recall {_pct(c.recall)}), "
        f"{c.fp} false alarms (precision {_pct(c.precision)}), "
        f"groups detected {debrief.groups_detected} of {debrief.groups_planted}"
    )
    out.print(
        f"false-alarm rate {_pct(c.false_alarm_rate)}, miss rate {_pct(c.miss_rate)}"
        + (
            f" (intended {debrief.intended.false_alarm} and {debrief.intended.miss})"
            if debrief.intended
            else ""
        )
    )
    for case in debrief.planted_cases:
        extra = f" ({case.reason})" if case.reason else ""
        out.print(f"  {case.case}: {case.outcome.replace('_', ' ')}{extra}")
    if debrief.rejected:
        out.print(f"  {len(debrief.rejected)} screenings rejected by the service")
    out.print(f"report: {files.html}  ({files.json.name} beside it)")
    return EXIT_OK


def cmd_drill(args: argparse.Namespace) -> int:
    from departure_screening.exercise.drill import (
        DEFAULT_PRESENTED,
        GrpcDrillClient,
        choose_presented,
        run_drill,
    )
    from departure_screening.exercise.run import ExerciseError, connect, officer_of
    from departure_screening.exercise.trainee import build_debrief, write_debrief

    try:
        credentials = client_credentials(args)
        scenario = load_scenario(args.scenario)
        # The whole scenario at its own size: the other counters screen the rest.
        travellers = generate(scenario, args.seed)
    except (ClientConfigError, ScenarioError, GenerationError) as exc:
        return _problem(exc)
    count = args.travellers or DEFAULT_PRESENTED
    presented = choose_presented(travellers, count, args.seed)
    console = Console(highlight=False)
    try:
        channel = connect(args.target, credentials=credentials)
    except ExerciseError as exc:
        _err().print(f"[red]error:[/] {exc}")
        return EXIT_FAILED
    out = args.out or Path(f"drill-{args.trainee}")
    try:
        heads_up = _heads_up(channel, travellers, out, console) if scenario.heads_up else None
        summary = run_drill(
            travellers,
            GrpcDrillClient(channel, officer_of(credentials)),
            presented=presented,
            scenario=scenario,
            input_stream=sys.stdin,
            console=console,
            heads_up=heads_up,
        )
    except ExerciseError as exc:
        _err().print(f"[red]error:[/] {exc}")
        return EXIT_FAILED
    finally:
        channel.close()
    debrief = build_debrief(
        summary.decisions,
        scenario,
        trainee=args.trainee,
        seed=args.seed,
        presented=summary.presented,
        quit_early=summary.quit_early,
        rejected=summary.rejected,
        ruleset_version=summary.ruleset_version,
    )
    json_path, md_path = write_debrief(debrief, out)
    console.print(f"Your debrief: {md_path}  ({json_path.name} beside it)", markup=False)
    return EXIT_OK


def _heads_up(
    channel: grpc.Channel, travellers: list[GeneratedTraveller], out: Path, console: Console
) -> Mapping[int, HeadsUpEntry]:
    """The airlines' passenger lists of the scenario's flights, screened before the counter;
    each flight's heads-up list is written under ``out/headsup/<checkpoint>/``."""
    from departure_screening.exercise.passenger_lists import screen_passenger_lists
    from departure_screening.exercise.run import ExerciseError

    with console.status("The airlines' passenger lists arrive and are screened..."):
        try:
            screened = screen_passenger_lists(pb_grpc.ScreeningServiceStub(channel), travellers)
        except grpc.RpcError as exc:
            raise ExerciseError(
                f"the passenger lists could not be screened: {exc.code().name}"
            ) from exc
    for headsup in screened.lists:
        headsup.write(out / "headsup" / headsup.checkpoint)
    console.print(
        f"{len(screened.lists)} flights' passenger lists screened before the counter: "
        f"heads-up lists in {out / 'headsup'}.",
        markup=False,
    )
    return screened.entries


def cmd_class_report(args: argparse.Namespace) -> int:
    from departure_screening.exercise.trainee import DebriefError, read_debrief

    try:
        from departure_screening.exercise.classreport import combine, write_class_report
    except ModuleNotFoundError as exc:  # a server install leaves the report's libraries out
        return _problem(
            f"the class report needs {exc.name}: pip install 'departure-screening[reports]'"
        )

    try:
        report = combine([read_debrief(d) for d in args.dirs])
    except DebriefError as exc:
        return _problem(exc)
    files = write_class_report(report, args.out)
    c = report.class_rates
    out = Console(highlight=False, soft_wrap=True)
    out.print(
        f"{len(report.trainees)} trainees, {c.answered} decisions: class false-alarm rate "
        f"{_pct(c.false_alarm_rate)}, miss rate {_pct(c.miss_rate)}"
    )
    for p in report.profiles[:3]:
        if p.wrong:
            out.print(f"  most misjudged: {p.case} ({p.wrong} of {p.decisions} decisions wrong)")
    out.print(f"class report: {files.html}  ({files.json.name} beside it)")
    return EXIT_OK


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f} %"
