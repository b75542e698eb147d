"""``depscreen bench``: the service measured against two baselines.

The transport-only baseline answers from memory; the durable baseline also
appends each request to SQLite with a group commit before answering, the limit of
a service that acknowledges only what is durable, and the one the targets use.
All three servers run as child processes on loopback and one load generator
drives them in turn in the same run, so the ratios compare like with like.
The service's store is SQLite in a temporary folder, or (``--store``) an empty
store of its own, e.g. a PostgreSQL database made for the run.

The access phase starts the service once more, on the same store, with mutual TLS
and access control on, and the durable baseline over the same mutual TLS; the
certificates and the officer token are the bench's own, made for the run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from departure_screening.access.client import (
    PLAINTEXT,
    ClientConfigError,
    add_client_arguments,
    client_credentials,
)
from departure_screening.bench import machine
from departure_screening.bench.access_material import make_access_material
from departure_screening.bench.backtest_rate import BACKTEST_ASSESSMENTS, backtest_rate
from departure_screening.bench.children import (
    BenchError,
    Child,
    check_store_empty,
    service_environment,
    start_baseline,
    start_service,
)
from departure_screening.bench.paxlst_rate import paxlst_rate
from departure_screening.bench.phases import (
    MANIFEST_SIZE,
    OVERLOAD_FACTOR,
    REPLAY_STREAMS,
    Replayed,
    Sliced,
    Traffic,
    in_turn,
    in_turn_costed,
    latency_at_rate,
    latency_with_open_streams,
    memory_growth,
    overload,
    replay_in_turn,
    replay_seconds,
    stream_per_s,
    unary_rps,
)
from departure_screening.serving.config import at_least_one
from departure_screening.store.factory import SQLITE, parse_store_url

# Indonesia's outbound trips on a busy day, replayed through ScreenManifest.
NATIONAL_DAY = 25_000
# The latency phase measures the steady state at its offered load: the store's
# background checkpoint of the burst before it is let finish first.
SETTLE_SECONDS = 2.0
# Exit status when the bench cannot run as asked (a bad or non-empty store).
EXIT_CANNOT_RUN = 2


# Every phase, in the order they run; ``--phases`` picks a subset.
PHASES = (
    "unary",
    "stream",
    "replay",
    "access",
    "paxlst",
    "latency",
    "streams",
    "memory",
    "overload",
)
# Phases that compare the service with the baselines; the others need the service alone.
_WITH_BASELINES = frozenset({"unary", "stream", "replay", "latency"})


def parse_phases(text: str) -> tuple[str, ...]:
    """``unary,replay`` → the named phases in run order; an unknown or empty name is refused."""
    names = [name.strip() for name in text.split(",")]
    unknown = [name for name in names if name not in PHASES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown phase {', '.join(map(repr, unknown))}: choose from {', '.join(PHASES)}"
        )
    return tuple(phase for phase in PHASES if phase in names)


def run_bench(
    seconds: float,
    rate: float,
    screenings: int,
    console: Console,
    replay: int = NATIONAL_DAY,
    processes: int = 1,
    store: str | None = None,
    phases: tuple[str, ...] = PHASES,
) -> dict[str, Any]:
    """Raises BenchError."""
    if store is not None:
        check_store_empty(store)
    host = machine.describe()  # before the servers start, so that nothing else runs
    result: dict[str, Any] = {
        "machine": host,
        "processes": processes,
        "store": parse_store_url(store).kind if store else SQLITE,
        "phases": list(phases),
    }
    with tempfile.TemporaryDirectory(prefix="depscreen-bench-") as tmp, ExitStack() as running:
        env = service_environment(Path(tmp), store)
        service = start_service(Path(tmp), env, processes)
        running.callback(service.stop)
        servers = [service]
        if _WITH_BASELINES.intersection(phases):
            baseline = start_baseline(processes)
            running.callback(baseline.stop)
            durable = start_baseline(processes, durable=Path(tmp) / "durable-baseline.db")
            running.callback(durable.stop)
            servers += [baseline, durable]
        traffic = Traffic("bench")
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("", total=None)
            sustained = 0.0  # the unary phase's rate, which the overload phase doubles
            if "unary" in phases:
                progress.update(task, description="unary")
                rates = in_turn_costed(unary_rps, servers, seconds, traffic)
                sustained = rates[0].rate
                result["unary"] = _against_baselines(rates, "rps")
            if "stream" in phases:
                progress.update(task, description="stream")
                result["stream"] = _against_baselines(
                    in_turn_costed(stream_per_s, servers, seconds, traffic), "per_s"
                )
            if "replay" in phases:
                progress.update(task, description=f"replay of {replay} screenings")
                on_service, on_durable = replay_in_turn(
                    replay_seconds, [service, servers[2]], replay, traffic
                )
                result["replay"] = _replay_figures(replay, on_service, on_durable)
            if "access" in phases:
                progress.update(task, description="mTLS and access control")
                result["access"] = access_phase(
                    Path(tmp), env, service, processes, seconds, traffic
                )
            if "paxlst" in phases:
                progress.update(task, description="PAXLST manifests read and screened")
                result["paxlst"] = paxlst_rate(service.target)
            if "latency" in phases:
                progress.update(task, description=f"latency at {rate:g}/s")
                time.sleep(SETTLE_SECONDS)
                result["latency_ms"] = latency_at_rate(service.target, rate, seconds, traffic)
                # The same offered load on the durable baseline: the tail this host's
                # storage gives a call that waits for its fsync, the service's floor.
                time.sleep(SETTLE_SECONDS)
                floor = latency_at_rate(servers[2].target, rate, seconds, traffic)
                result["latency_ms"]["durable_baseline_p50"] = floor["p50"]
                result["latency_ms"]["durable_baseline_p99"] = floor["p99"]
            if "streams" in phases:
                progress.update(task, description="latency beside open streams")
                result["streams"] = latency_with_open_streams(
                    service.target, rate, seconds, traffic
                )
            if "memory" in phases:
                progress.update(task, description="memory", total=screenings * 1.1, completed=0)
                result["memory"] = memory_growth(
                    service, screenings, traffic, lambda n: progress.advance(task, n)
                )
            if "overload" in phases:
                # Last: the refused calls leave nothing behind, but the admitted ones'
                # threads and buffers would weigh on the memory phase's start.
                progress.update(task, description="overload", total=None)
                time.sleep(SETTLE_SECONDS)
                if not sustained:
                    sustained = unary_rps(service.target, seconds, traffic)
                result["overload"] = overload(service.target, sustained, seconds, traffic)
    return result


def access_phase(
    workdir: Path,
    env: dict[str, str],
    plain: Child,
    processes: int,
    seconds: float,
    traffic: Traffic,
) -> dict[str, float]:
    """``Screen`` over mTLS with every check, against the same service in plain mode.

    A counter PC's calls: a device certificate, and an officer token bound to it and to
    its checkpoint on every call. The durable baseline over the same mutual TLS says
    what the transport's share of the cost is.
    """
    material = make_access_material(workdir / "pki")
    with ExitStack() as running:
        mtls = start_service(workdir, env, processes, access=material)
        running.callback(mtls.stop)
        durable = start_baseline(
            processes, durable=workdir / "durable-baseline-mtls.db", access=material
        )
        running.callback(durable.stop)
        plain_rps, mtls_rps, durable_rps = in_turn(
            unary_rps, [plain, mtls, durable], seconds, traffic
        )
    return {
        "plain_rps": round(plain_rps, 1),
        "mtls_rps": round(mtls_rps, 1),
        "ratio": round(mtls_rps / plain_rps, 3),
        "durable_baseline_mtls_rps": round(durable_rps, 1),
        "ratio_durable": round(mtls_rps / durable_rps, 3),
        # What mTLS and the checks add to each call, on this host with this load.
        "cost_us_per_call": round((1 / mtls_rps - 1 / plain_rps) * 1e6, 1),
    }


def _replay_figures(screenings: int, s: Replayed, d: Replayed) -> dict[str, float]:
    """Times and their ratio, and the CPU per screening of the servers and the load generator."""
    return {
        "screenings": screenings,
        "streams": REPLAY_STREAMS,
        "seconds": round(s.seconds, 2),
        "durable_baseline_seconds": round(d.seconds, 2),
        "ratio_durable": round(s.seconds / d.seconds, 3),
        "cpu_us_per_screening": round(s.server_cpu_seconds / screenings * 1e6, 1),
        "durable_baseline_cpu_us_per_screening": round(d.server_cpu_seconds / screenings * 1e6, 1),
        "client_cpu_us_per_screening": round(s.client_cpu_seconds / screenings * 1e6, 1),
        "durable_baseline_client_cpu_us_per_screening": round(
            d.client_cpu_seconds / screenings * 1e6, 1
        ),
    }


def _against_baselines(rates: list[Sliced], unit: str) -> dict[str, float]:
    """The service's rate beside both baselines' (``rps`` for calls, ``per_s`` for items)."""
    s, b, d = rates
    return {
        f"screen_{unit}": round(s.rate, 1),
        f"baseline_{unit}": round(b.rate, 1),
        "ratio": round(s.rate / b.rate, 3),
        f"durable_baseline_{unit}": round(d.rate, 1),
        "ratio_durable": round(s.rate / d.rate, 3),
        **_cpu(rates),
    }


def _cpu(rates: list[Sliced]) -> dict[str, float]:
    """Server CPU per call (user + system, all processes), which a loaded host barely moves."""
    s, b, d = rates
    return {
        "cpu_us_per_call": round(s.cpu_us_per_call, 1),
        "baseline_cpu_us_per_call": round(b.cpu_us_per_call, 1),
        "durable_baseline_cpu_us_per_call": round(d.cpu_us_per_call, 1),
    }


# Against the durable baseline: a screening is acknowledged only once it is durable,
# so transport plus a group-committed append is the limit the service can reach.
TARGETS = {
    ("unary", "ratio_durable"): (">=", 0.8),
    ("stream", "ratio_durable"): (">=", 0.8),
    ("replay", "ratio_durable"): ("<=", 1.25),
    ("latency_ms", "p99"): ("<=", 5.0),
    ("streams", "p99_ms_with"): ("<=", 5.0),
    ("memory", "growth_pct"): ("<=", 10.0),
    # Against the same service in plain mode: what identity and authorization cost.
    ("access", "ratio"): (">=", 0.85),
}


def verdicts(result: dict[str, Any]) -> dict[str, bool]:
    out = {}
    for (group, key), (op, limit) in TARGETS.items():
        if group not in result:
            continue  # a phase not run (--phases)
        value = result[group][key]
        out[f"{group}.{key}"] = value >= limit if op == ">=" else value <= limit
    return out


def _cmd_bench(args: argparse.Namespace) -> int:
    try:
        credentials = client_credentials(args)  # flags that do not fit: as for every client
    except ClientConfigError as error:
        print(f"depscreen bench: {error}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    if credentials != PLAINTEXT:
        # The bench starts its servers itself, so it also makes the certificates and the
        # token its mTLS phase needs; material from elsewhere would match none of them.
        print(
            "depscreen bench: --tls-ca, --tls-cert, --tls-key and --token are refused: the "
            "bench starts its own servers and makes its own certificates and officer token "
            "for its mTLS phase",
            file=sys.stderr,
        )
        return EXIT_CANNOT_RUN
    console = Console(stderr=True)
    if args.backtest:
        return _cmd_backtest_rate(args.backtest, console, args.json)
    try:
        result = run_bench(
            args.seconds,
            args.rate,
            args.screenings,
            console,
            args.replay,
            args.processes,
            args.store,
            args.phases,
        )
    except BenchError as error:
        print(f"depscreen bench: {error}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    result["targets_met"] = verdicts(result)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    Console().print(_table(result))
    return 0


def _table(result: dict[str, Any]) -> Table:
    """The figures of the phases that ran, each beside its target."""
    host = result["machine"]
    table = Table(
        title=f"depscreen bench ({host['cpus']} CPUs: {host['cpu']}; Python {host['python']},"
        f" yardstick loop {host['python_loop_ms']:g} ms;"
        f" {result['processes']} server processes each, {result['store']} store)"
    )
    for column in (
        "measure",
        "service",
        "transport baseline",
        "durable baseline",
        "ratio to durable",
        "target",
        "met",
    ):
        table.add_column(column)
    met = result["targets_met"]
    if "unary" in result:
        u = result["unary"]
        table.add_row(
            "Screen, req/s",
            f"{u['screen_rps']:.0f}",
            f"{u['baseline_rps']:.0f} (ratio {u['ratio']:.2f})",
            f"{u['durable_baseline_rps']:.0f}",
            f"{u['ratio_durable']:.2f}",
            "≥ 0.8",
            str(met["unary.ratio_durable"]),
        )
        _cpu_row(table, "Screen, server CPU µs per call", u)
    if "stream" in result:
        s = result["stream"]
        table.add_row(
            f"ScreenManifest ({MANIFEST_SIZE}), items/s",
            f"{s['screen_per_s']:.0f}",
            f"{s['baseline_per_s']:.0f} (ratio {s['ratio']:.2f})",
            f"{s['durable_baseline_per_s']:.0f}",
            f"{s['ratio_durable']:.2f}",
            "≥ 0.8",
            str(met["stream.ratio_durable"]),
        )
        _cpu_row(table, "ScreenManifest, server CPU µs per item", s)
    if "replay" in result:
        rep = result["replay"]
        table.add_row(
            f"replay of {rep['screenings']} screenings ({rep['streams']} manifests at once), s",
            f"{rep['seconds']:.1f}",
            "",
            f"{rep['durable_baseline_seconds']:.1f}",
            f"{rep['ratio_durable']:.2f}",
            "≤ 1.25",
            str(met["replay.ratio_durable"]),
        )
        table.add_row(
            "replay, CPU µs per screening: server / load generator",
            f"{rep['cpu_us_per_screening']:.0f} / {rep['client_cpu_us_per_screening']:.0f}",
            "",
            f"{rep['durable_baseline_cpu_us_per_screening']:.0f}"
            f" / {rep['durable_baseline_client_cpu_us_per_screening']:.0f}",
            "",
            "",
            "",
        )
    if "latency_ms" in result:
        lat = result["latency_ms"]
        table.add_row(
            f"Screen p50 / p99 at {lat['rate']:g}/s, ms",
            f"{lat['p50']:.2f} / {lat['p99']:.2f}",
            "",
            f"{lat['durable_baseline_p50']:.2f} / {lat['durable_baseline_p99']:.2f}",
            f"{lat['p99'] / lat['durable_baseline_p99']:.2f} (p99)",
            "p99 ≤ 5",
            str(met["latency_ms.p99"]),
        )
    if "streams" in result:
        st = result["streams"]
        table.add_row(
            f"Screen p99 at {st['rate']:g}/s without / with {st['watchers']} watchers"
            f" and {st['manifest_streams']} manifests open, ms",
            f"{st['p99_ms_without']:.2f} / {st['p99_ms_with']:.2f}",
            "",
            "",
            "",
            "≤ 5",
            str(met["streams.p99_ms_with"]),
        )
    if "memory" in result:
        mem = result["memory"]
        table.add_row(
            f"RSS over {mem['screenings']} screenings, MB",
            f"{mem['rss_start_mb']} → {mem['rss_end_mb']} ({mem['growth_pct']:+.1f} %)",
            "",
            "",
            "",
            "≤ 10 %",
            str(met["memory.growth_pct"]),
        )
    if "paxlst" in result:
        pax = result["paxlst"]
        table.add_row(
            f"PAXLST of {pax['passengers']} read and screened (preliminary), passengers/s",
            f"{pax['per_s_median']:.0f} (median of {pax['files']} files)",
            "",
            "",
            "",
            "",
            "",
        )
    if "overload" in result:
        ov = result["overload"]
        table.add_row(
            f"Screen at {OVERLOAD_FACTOR:g} times the sustained {ov['sustainable_rps']:.0f}/s"
            f" (offered {ov['offered_rps']:.0f}/s): admitted/s, refused, admitted p50 / p99 ms",
            f"{ov['admitted_rps']:.0f}, {ov['refused_share']:.0%},"
            f" {ov['admitted_p50_ms']:.1f} / {ov['admitted_p99_ms']:.1f}",
            "",
            "",
            "",
            "",
            "",
        )
    if "access" in result:
        acc = result["access"]
        table.add_row(
            "Screen over mTLS + access control, req/s ÷ plain",
            f"{acc['mtls_rps']:.0f} ÷ {acc['plain_rps']:.0f} = {acc['ratio']:.2f}"
            f" ({acc['cost_us_per_call']:+.0f} µs per call)",
            "",
            f"{acc['durable_baseline_mtls_rps']:.0f} (over mTLS)",
            f"{acc['ratio_durable']:.2f}",
            "÷ plain ≥ 0.85",
            str(met["access.ratio"]),
        )
    return table


def _cpu_row(table: Table, measure: str, figures: dict[str, float]) -> None:
    table.add_row(
        measure,
        f"{figures['cpu_us_per_call']:.0f}",
        f"{figures['baseline_cpu_us_per_call']:.0f}",
        f"{figures['durable_baseline_cpu_us_per_call']:.0f}",
        f"{figures['durable_baseline_cpu_us_per_call'] / figures['cpu_us_per_call']:.2f}"
        if figures["cpu_us_per_call"]
        else "",
        "",
        "",
    )


def _cmd_backtest_rate(n: int, console: Console, as_json: bool) -> int:
    host = machine.describe()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"storing {n} assessments", total=n)
        figures = backtest_rate(n, lambda k: progress.advance(task, k))
    result = {"machine": host, "backtest": figures}
    if as_json:
        print(json.dumps(result, indent=2))
        return 0
    met = "met" if figures["met"] else "NOT met"
    Console().print(
        f"rules backtest of {n} stored assessments: {figures['seconds']:.1f} s,"
        f" {figures['assessments_per_s']:.0f} assessments/s;"
        f" target ≤ {figures['target_seconds']:g} s {met}"
        f" ({host['cpus']} CPUs: {host['cpu']}; Python {host['python']},"
        f" yardstick loop {host['python_loop_ms']:g} ms)"
    )
    return 0


def add_bench_parser(commands: Any) -> None:
    bench = commands.add_parser(
        "bench", help="measure the service against a transport-only and a durable baseline"
    )
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.add_argument("--seconds", type=float, default=10.0, help="length of each timed phase")
    bench.add_argument(
        "--rate", type=float, default=200.0, help="offered load for the latency phase"
    )
    bench.add_argument(
        "--screenings", type=int, default=100_000, help="screenings for the memory phase"
    )
    bench.add_argument(
        "--replay", type=int, default=NATIONAL_DAY, help="screenings replayed as a day's manifests"
    )
    bench.add_argument(
        "--processes",
        type=at_least_one,
        default=os.cpu_count() or 1,
        help="server processes, for the service and the baseline alike (default: one per CPU)",
    )
    bench.add_argument(
        "--store",
        help="the service's store, which must be empty: the bench fills it with test screenings"
        " and leaves them (default: SQLite in a temporary folder, removed afterwards)",
    )
    bench.add_argument(
        "--phases",
        type=parse_phases,
        default=PHASES,
        metavar="NAME,…",
        help=f"run only these phases (default: all of {','.join(PHASES)}); the baselines"
        " start only for unary, stream and replay",
    )
    bench.add_argument(
        "--backtest",
        type=int,
        nargs="?",
        const=BACKTEST_ASSESSMENTS,
        metavar="N",
        help="instead of the other phases: store N assessments (default"
        f" {BACKTEST_ASSESSMENTS}) and time `depscreen rules backtest` on them",
    )
    # Taken as by every client, and refused: the bench serves itself (see _cmd_bench).
    add_client_arguments(
        bench,
        "refused by the bench, which starts its own servers and makes its own certificates"
        " and officer token for its mTLS phase",
    )
    bench.set_defaults(func=_cmd_bench)
