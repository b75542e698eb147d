"""``depscreen access test [POLICY] [--cases FILE]``: an access policy's table tests."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from departure_screening.access.policy import PolicyError, default_policy_path, load_policy
from departure_screening.access.policy_tests import default_cases_path, run_policy_tests


def add_access_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    access = commands.add_parser("access", help="check an access policy").add_subparsers(
        dest="access_command", required=True
    )
    test = access.add_parser("test", help="validate an access policy and run its table tests")
    test.add_argument("policy", nargs="?", default=str(default_policy_path()))
    test.add_argument(
        "--cases",
        default=str(default_cases_path()),
        metavar="FILE",
        help="table tests (default: those of the shipped policy)",
    )
    test.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")
    test.set_defaults(func=_cmd_access_test)


def _cmd_access_test(args: argparse.Namespace) -> int:
    console = Console(highlight=False, soft_wrap=True)
    try:
        policy = load_policy(Path(args.policy))
        results = run_policy_tests(policy, Path(args.cases))
    except (PolicyError, ValueError, OSError) as exc:
        console.print(f"[red]✗[/] {exc}")
        return 1
    failed = [r for r in results if not r.passed]
    for r in failed:
        console.print(f"[red]FAIL[/] {r.name}: expected {r.expected}, got {r.actual}", markup=False)
    if args.verbose:
        for r in results:
            if r.passed:
                console.print(f"[green]PASS[/] {r.name}: {r.actual}")
    colour = "red" if failed else "green"
    console.print(f"[{colour}]{len(results) - len(failed)} passed, {len(failed)} failed[/]")
    return 1 if failed else 0
