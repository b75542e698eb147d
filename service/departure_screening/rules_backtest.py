"""``depscreen rules backtest``: what a candidate ruleset would have recommended on stored history;
``depscreen rules shadow-report``: what the shadow ruleset said, in the same report.

It reads the store only (one snapshot, never a write) and writes ``report.json``,
``report.html`` and PNG plots of band transitions and of indicator hits.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from departure_screening.errors import StoreUnavailable
from departure_screening.screening.backtest import Backtest, run_backtest
from departure_screening.screening.bundle import BundleError, load_rules
from departure_screening.screening.ruleset import RulesetError
from departure_screening.screening.shadow_report import shadow_report
from departure_screening.store.base import ReplayQuery
from departure_screening.store.factory import open_audit_store
from departure_screening.store.sqlbase import SqlStore

MODES = {"live": "MODE_LIVE", "training": "MODE_TRAINING"}
EXIT_FAILED = 1
EXIT_USAGE = 2

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Backtest of {{ r.candidate }}</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}
table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.2em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}</style></head><body>
<h1>Backtest of {{ r.candidate }}</h1>
<p>{{ r.screenings }} stored assessments replayed, {{ r.skipped }} skipped
(kept without facts, or preliminary);
{{ r.changed }} would get another band.</p>
<h2>Bands</h2>
<table><tr><th>band</th><th>recorded</th><th>candidate</th></tr>
{% for band, n in r.bands.recorded.items() %}<tr><td>{{ band }}</td><td>{{ n }}</td>
<td>{{ r.bands.candidate[band] }}</td></tr>{% endfor %}</table>
<img src="transitions.png" alt="band transitions">
<h2>Indicators</h2>
<table><tr><th>code</th><th>recorded hits</th><th>candidate hits</th></tr>
{% for code, h in r.indicators.items() %}<tr><td>{{ code }}</td><td>{{ h.recorded }}</td>
<td>{{ h.candidate }}</td></tr>{% endfor %}</table>
<img src="indicators.png" alt="indicator hits">
<h2>Checkpoints</h2>
<table><tr><th>checkpoint</th><th>screenings</th><th>changed</th></tr>
{% for cp, c in r.by_checkpoint.items() %}<tr><td>{{ cp }}</td><td>{{ c.screenings }}</td>
<td>{{ c.changed }}</td></tr>{% endfor %}</table>
<h2>Officers</h2>
<p>Of {{ r.officers.decided }} assessments with a decision, the officer agreed with the recorded
recommendation {{ r.officers.agree_recorded }} times and would have agreed with the candidate's
{{ r.officers.agree_candidate }} times.</p>
</body></html>
"""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO date, got {text!r}") from None


def write_report(report: dict[str, Any], out: Path) -> list[Path]:
    import jinja2
    from matplotlib.figure import Figure

    out.mkdir(parents=True, exist_ok=True)
    written = [out / "report.json", out / "report.html"]
    written[0].write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    page = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    written[1].write_text(page.from_string(_PAGE).render(r=report), encoding="utf-8")

    transitions = report["transitions"] or {"no change": 0}
    fig = Figure(figsize=(6.4, 3.6))
    ax = fig.add_subplot()
    ax.bar(list(transitions), list(transitions.values()), color="#c0504d")
    ax.set_ylabel("assessments")
    ax.set_title("Band transitions, recorded → candidate")
    fig.tight_layout()
    fig.savefig(out / "transitions.png", format="png")

    codes = list(report["indicators"])
    fig = Figure(figsize=(6.4, 0.35 * max(len(codes), 3) + 1.2))
    ax = fig.add_subplot()
    ys = range(len(codes))
    ax.barh([y + 0.2 for y in ys], [report["indicators"][c]["recorded"] for c in codes], 0.4,
            label="recorded")  # fmt: skip
    ax.barh([y - 0.2 for y in ys], [report["indicators"][c]["candidate"] for c in codes], 0.4,
            label="candidate")  # fmt: skip
    ax.set_yticks(list(ys), codes, fontsize=7)
    ax.set_xlabel("hits")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "indicators.png", format="png")
    return [*written, out / "transitions.png", out / "indicators.png"]


def _reports_missing(command: str) -> bool:
    """True, having said which, when the report's libraries are not installed."""
    try:
        import jinja2  # noqa: F401
        import matplotlib  # noqa: F401
    except ModuleNotFoundError as exc:  # a server install leaves the report's libraries out
        print(
            f"depscreen rules {command}: the report needs {exc.name}:"
            " pip install 'departure-screening[reports]'",
            file=sys.stderr,
        )
        return True
    return False


def _report_from_store(
    args: argparse.Namespace,
    command: str,
    reading: str,
    read: Callable[[SqlStore, ReplayQuery, Callable[[], None]], Backtest],
    summary: Callable[[dict[str, Any]], str],
) -> int:
    """Read the store's records in the asked range into a report, with a progress bar."""
    console = Console(stderr=True)
    query = ReplayQuery(args.since, args.until, args.checkpoint, MODES.get(args.mode or ""))
    try:
        store = open_audit_store(args.store)
    except (ValueError, StoreUnavailable) as exc:
        print(f"depscreen rules {command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        total = store.count_replay_records(query)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(reading, total=total)
            result = read(store, query, lambda: progress.advance(task))
    except StoreUnavailable as exc:
        print(f"depscreen rules {command}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        store.close()
    report = result.to_json()
    write_report(report, Path(args.out))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        console.print(f"{summary(report)}; report in {args.out}")
    return 0


def _cmd_backtest(args: argparse.Namespace) -> int:
    if _reports_missing("backtest"):
        return EXIT_USAGE
    try:
        candidate = load_rules(Path(args.rules))
    except (RulesetError, BundleError) as exc:
        print(f"depscreen rules backtest: {args.rules}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return _report_from_store(
        args,
        "backtest",
        "replaying",
        lambda store, query, tick: run_backtest(store.replay_records(query), candidate, tick),
        lambda r: (
            f"{r['screenings']} replayed, {r['skipped']} skipped, {r['changed']} changed band"
        ),
    )


def _cmd_shadow_report(args: argparse.Namespace) -> int:
    if _reports_missing("shadow-report"):
        return EXIT_USAGE
    return _report_from_store(
        args,
        "shadow-report",
        "reading",
        lambda store, query, tick: shadow_report(store.shadow_records(query), tick),
        lambda r: (
            f"{r['screenings']} with a shadow result, {r['skipped']} without,"
            f" {r['changed']} with another band in the shadow"
        ),
    )


def _add_range_arguments(parser: Any) -> None:
    parser.add_argument("--since", type=_date, metavar="DATE", help="first departure date")
    parser.add_argument("--until", type=_date, metavar="DATE", help="last departure date")
    parser.add_argument("--checkpoint", metavar="CODE", help="one checkpoint only")
    parser.add_argument("--mode", choices=sorted(MODES), help="live or training only")
    parser.add_argument("--json", action="store_true", help="also print report.json")


def add_shadow_report_parser(rules: Any) -> None:
    report = rules.add_parser(
        "shadow-report",
        help="what the shadow ruleset said beside what was served, as a backtest report",
    )
    report.add_argument("--store", required=True, metavar="URL", help="the store to read")
    report.add_argument("--out", required=True, metavar="DIR", help="where the report goes")
    _add_range_arguments(report)
    report.set_defaults(func=_cmd_shadow_report)


def add_backtest_parser(rules: Any) -> None:
    backtest = rules.add_parser(
        "backtest", help="replay stored assessments through a candidate ruleset"
    )
    backtest.add_argument("--store", required=True, metavar="URL", help="the store to read")
    backtest.add_argument(
        "--rules", required=True, metavar="CANDIDATE", help="a ruleset directory or bundle"
    )
    backtest.add_argument("--out", required=True, metavar="DIR", help="where the report goes")
    _add_range_arguments(backtest)
    backtest.set_defaults(func=_cmd_backtest)
