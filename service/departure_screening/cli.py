"""``depscreen``: serve, check rules, and the operator's tools."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from rich.console import Console

from departure_screening import __version__
from departure_screening.rules_commands import add_rules_lifecycle_parsers
from departure_screening.screening.bundle import BundleError, load_rules, ruleset_directory
from departure_screening.screening.ruleset import RulesetError, default_rules_dir, load_ruleset
from departure_screening.serving.config import add_serve_arguments, redact, serve_config


def _cmd_serve(args: argparse.Namespace) -> int:
    from departure_screening.errors import StoreUnavailable
    from departure_screening.serving.app import build_app, rules_trust
    from departure_screening.serving.logs import configure_logging
    from departure_screening.serving.reload import SHADOW_RULES, RulesReloader
    from departure_screening.serving.server import serve
    from departure_screening.store.sqlbase import SchemaError

    try:
        config = serve_config(args)
    except ValueError as exc:  # settings that contradict each other
        print(f"depscreen serve: {exc}", file=sys.stderr)
        return 2
    worker = args.worker_of_supervisor > 0
    if worker:
        from departure_screening.serving.supervisor import follow_supervisor

        follow_supervisor(args.worker_of_supervisor)
    several = worker or config.processes > 1
    configure_logging(config.log_format, several_processes=several)
    try:
        app = build_app(config)
    except (RulesetError, ValueError, StoreUnavailable, SchemaError) as exc:
        # A bad ruleset, store URL or key, or an unreachable store: say so and stop.
        print(f"depscreen serve: {redact(str(exc), config.store)}", file=sys.stderr)
        return 2
    if config.processes > 1:
        from departure_screening.serving.supervisor import supervise

        # Built only to check the settings before any worker starts; each builds its own.
        app.close()
        return supervise(config)
    # What is built so far lives as long as the process: a full collection need not
    # walk it again (each walk is a pause for every call in flight).
    gc.collect()
    gc.freeze()
    running = serve(app, worker=worker)
    reloader = RulesReloader(
        config.rules, rules_trust(config), app.screener, app.metrics, config.checkpoints
    )
    reloader.start(config.rules_poll)
    reloaders = [reloader]
    if app.shadow is not None and config.shadow_rules is not None:
        shadow_reloader = RulesReloader(
            config.shadow_rules,
            rules_trust(config),
            app.shadow,
            app.metrics,
            config.checkpoints,
            SHADOW_RULES,
        )
        shadow_reloader.start(config.rules_poll)
        reloaders.append(shadow_reloader)
    stopped = threading.Event()
    if not worker:  # a worker's supervisor speaks to systemd for the set
        from departure_screening.serving.notify import notify, start_watchdog

        notify("READY=1")  # serve() has set health SERVING: the store answered
        start_watchdog(app.store_ok, stopped)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logging.getLogger(__name__).info("signal %d: shutting down", signum)
        stopped.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def on_hangup(signum: int, frame: FrameType | None) -> None:
        for r in reloaders:
            r.request()

    signal.signal(signal.SIGHUP, on_hangup)
    if args.ready_fd >= 0:
        from departure_screening.serving.supervisor import announce_ready

        # Only now: a SIGTERM from the supervisor must find the handler in place.
        announce_ready(args.ready_fd)
    stopped.wait()
    for r in reloaders:
        r.stop()
    if not worker:
        notify("STOPPING=1")
    running.stop()
    return 0


def _cmd_rules_validate(args: argparse.Namespace) -> int:
    console = Console(highlight=False, soft_wrap=True)
    try:
        ruleset = load_rules(Path(args.dir))
    except RulesetError as exc:
        console.print(f"[red]✗[/] {args.dir}: ruleset refused")
        for problem in exc.problems:
            console.print(f"  - {problem}", markup=False)
        return 1
    except BundleError as exc:
        console.print(f"[red]✗[/] {args.dir}: bundle refused: {exc}", markup=False)
        return 1
    console.print(
        f"[green]✓[/] {ruleset.version}: {len(ruleset.indicators)} indicators, "
        f"{len(ruleset.bands)} bands"
    )
    return 0


def _cmd_rules_test(args: argparse.Namespace) -> int:
    from departure_screening.screening.rule_tests import run_rule_tests

    console = Console(highlight=False, soft_wrap=True)
    try:
        with ruleset_directory(Path(args.dir)) as directory:
            ruleset = load_ruleset(directory)
            results = run_rule_tests(ruleset, directory)
    except (RulesetError, BundleError) as exc:
        console.print(str(exc), markup=False)
        return 1
    failed = [r for r in results if not r.passed]
    for r in failed:
        console.print(f"[red]FAIL[/] {r.file}: {r.name}")
        for line in r.differences:
            console.print(f"    {line}", markup=False)
    if args.verbose:
        for r in results:
            if r.passed:
                console.print(f"[green]PASS[/] {r.file}: {r.name}")
    colour = "red" if failed else "green"
    console.print(
        f"[{colour}]{len(results) - len(failed)} passed, {len(failed)} failed[/] "
        f"({ruleset.version})"
    )
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="depscreen",
        description="Departure screening service: risk indicators for non-procedural "
        "migrant workers (IMI-GR.01.01-1029/2017). It recommends; officers decide.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gRPC service")
    add_serve_arguments(serve)
    serve.set_defaults(func=_cmd_serve)

    rules = commands.add_parser("rules", help="check, bundle and sign a ruleset").add_subparsers(
        dest="rules_command", required=True
    )
    validate = rules.add_parser("validate", help="validate a ruleset directory or bundle")
    validate.add_argument("dir", nargs="?", default=str(default_rules_dir()))
    validate.set_defaults(func=_cmd_rules_validate)
    test = rules.add_parser("test", help="run the table-driven tests of a ruleset")
    test.add_argument("dir", nargs="?", default=str(default_rules_dir()))
    test.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")
    test.set_defaults(func=_cmd_rules_test)
    add_rules_lifecycle_parsers(rules)

    _add_optional_commands(commands)
    return parser


def _add_optional_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Sub-commands that live in their own modules."""
    from departure_screening.access.cli import add_access_parsers
    from departure_screening.access.command import add_access_parser
    from departure_screening.audit import add_audit_parser
    from departure_screening.bench.command import add_bench_parser
    from departure_screening.exercise.cli import add_exercise_parser
    from departure_screening.manifest.command import add_manifest_parser

    add_audit_parser(commands)
    add_exercise_parser(commands)
    add_bench_parser(commands)
    add_manifest_parser(commands)
    add_access_parsers(commands)
    add_access_parser(commands)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
