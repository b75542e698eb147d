"""``depscreen bench``: the service measured against a transport-only baseline.

Both servers run as child processes on loopback and one load generator drives
them in the same run, so the ratios compare like with like on this machine.
The service's store is SQLite in a temporary folder, or (``--store``) an empty
store of its own, e.g. a PostgreSQL database made for the run.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.type import date_pb2
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from departure_screening import machine
from departure_screening.config import at_least_one
from departure_screening.errors import StoreUnavailable
from departure_screening.keys import ENV_KEY, KEY_BYTES
from departure_screening.store.factory import (
    MEMORY,
    POSTGRESQL,
    SQLITE,
    open_audit_store,
    parse_store_url,
)
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc

MANIFEST_SIZE = 500
# Indonesia's outbound trips on a busy day, replayed through ScreenManifest.
NATIONAL_DAY = 25_000
CLIENT_THREADS = 16  # concurrent counters; the same for both servers
# A day's manifests come from several checkpoints at once. Eight connections also
# spread evenly enough over the server processes (the kernel hashes connections).
REPLAY_STREAMS = 8
# The service and the baseline are measured in turn, this many slices each.
PAIRED_SLICES = 4
# The latency phase measures the steady state at its offered load: the store's
# background checkpoint of the burst before it is let finish first.
SETTLE_SECONDS = 2.0
# Memory is compared between the first and the last 1/MEMORY_WINDOWS of its phase.
MEMORY_WINDOWS = 20
# Exit status when the bench cannot run as asked (a bad or non-empty store).
EXIT_CANNOT_RUN = 2
DESTINATIONS = ("KH", "SG", "MY", "JP", "TH", "SA", "LA", "AU")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _tree_rss_mb(pid: int) -> float:
    """The process and its worker processes: with --processes they all hold state."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return _rss_mb(pid) + sum(_tree_rss_mb(int(c)) for c in children)


def _channel(target: str) -> grpc.Channel:
    # A connection of its own, as separate counters have: with several server
    # processes the kernel spreads connections, not calls, over them.
    return grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])


class Traffic:
    """Distinct, realistic screenings: every request is a new traveller."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._n = 0
        self._lock = threading.Lock()

    def next(self) -> pb.Screening:
        with self._lock:
            self._n += 1
            n = self._n
        return pb.Screening(
            request_id=f"{self._prefix}-{n}",
            checkpoint="CGK",
            mode=pb.MODE_LIVE,
            traveller=pb.Traveller(
                passport_number=f"B{n:09d}",
                nationality="ID",
                birth_date=date_pb2.Date(year=1980 + n % 25, month=1 + n % 12, day=1 + n % 28),
                passport_issue_date=date_pb2.Date(year=2025, month=1 + n % 12, day=1 + n % 28),
            ),
            trip=pb.Trip(
                flight_number=f"GA{n % 300}",
                departure_date=date_pb2.Date(year=2026, month=3, day=1 + n % 28),
                destination_country=DESTINATIONS[n % len(DESTINATIONS)],
                has_return_ticket=n % 4 != 0,
                escort_passport_number=f"E{n % 997:07d}" if n % 10 == 0 else "",
            ),
            declaration=pb.Declaration(
                purpose=(pb.PURPOSE_TOURISM, pb.PURPOSE_WORK, pb.PURPOSE_BUSINESS)[n % 3],
                visa_type=pb.VISA_TYPE_VISA_EXEMPT,
            ),
            observations=[pb.OBSERVATION_CARRIES_JOB_OFFER] if n % 7 == 0 else [],
        )


@dataclass
class Child:
    procs: list[subprocess.Popen[bytes]]
    target: str

    @property
    def pid(self) -> int:
        return self.procs[0].pid

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()

    def wait_ready(self) -> None:
        """Until the server answers; stopped, and BenchError, if it exits or never does."""
        try:
            _wait_ready(self.target, self.procs[0])
        except BenchError:
            self.stop()
            raise


class BenchError(RuntimeError):
    """The bench cannot run as asked; the message says why."""


def _wait_ready(target: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Until the server answers; a server that exits instead fails at once, not at the timeout."""
    channel = grpc.insecure_channel(target)
    ready = grpc.channel_ready_future(channel)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                ready.result(timeout=0.2)
                return
            except grpc.FutureTimeoutError:
                if proc.poll() is not None:
                    raise BenchError(f"a server exited with status {proc.returncode}") from None
                if time.monotonic() > deadline:
                    raise BenchError(f"no server answered on {target} in {timeout:g} s") from None
    finally:
        channel.close()


def check_store_empty(url: str) -> None:
    """Refuse a store holding anything: the bench fills it with test screenings."""
    try:
        where = parse_store_url(url)
        if where.kind == MEMORY:
            return  # a new one in the server process
        if where.kind == SQLITE and not Path(where.target).exists():
            return  # created empty by the server
        store = open_audit_store(url)
        try:
            head = store.chain_head()
        finally:
            store.close()
    except (ValueError, StoreUnavailable) as error:
        raise BenchError(str(error)) from None
    if head.seq:
        raise BenchError(
            f"the store is not empty (its audit chain is at link {head.seq}); the bench writes"
            " hundreds of thousands of test screenings, so give it an empty store of its own"
        )


def start_service(workdir: Path, processes: int = 1, store: str | None = None) -> Child:
    """The real server, on SQLite in ``workdir`` unless ``store`` names another store."""
    port, metrics = _free_port(), _free_port()
    target = f"127.0.0.1:{port}"
    store = store or f"sqlite:///{workdir}/bench.db"
    env = dict(os.environ)
    if parse_store_url(store).kind == POSTGRESQL and not env.get(ENV_KEY, "").strip():
        # Test travellers only: a key for this run (PostgreSQL keeps no key file).
        env[ENV_KEY] = secrets.token_hex(KEY_BYTES)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "departure_screening",
            "serve",
            "--listen",
            target,
            "--metrics-listen",
            f"127.0.0.1:{metrics}",
            "--store",
            store,
            "--processes",
            str(processes),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "service.log").open("wb"),
        env=env,
    )
    child = Child([proc], target)
    try:
        child.wait_ready()
    except BenchError as error:
        log = (workdir / "service.log").read_text(errors="replace").strip().splitlines()
        raise BenchError(f"{error}: {log[-1] if log else 'no output'}") from None
    return child


def start_baseline(processes: int = 1) -> Child:
    target = f"127.0.0.1:{_free_port()}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "departure_screening.baseline", "--listen", target]
            + (["--reuse-port"] if processes > 1 else []),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(processes)
    ]
    child = Child(procs, target)
    child.wait_ready()
    return child


def paired(
    measure: Callable[[str, float, Traffic], float],
    service: Child,
    baseline: Child,
    seconds: float,
    traffic: Traffic,
    slices: int = PAIRED_SLICES,
) -> tuple[float, float]:
    """Rates of service and baseline, each over ``seconds`` in slices taken in turn.

    A host's speed can change by half within a minute (other tenants, the
    hypervisor). Measured one after the other, a change between the two shows up
    as a change of the ratio; in alternating slices, ordered ABBA so that a steady
    drift weighs on both alike, both see the same host.
    """
    part = seconds / slices
    service_rates: list[float] = []
    baseline_rates: list[float] = []
    turns = ((service, service_rates), (baseline, baseline_rates))
    for i in range(slices):
        for child, rates in turns if i % 2 == 0 else reversed(turns):
            rates.append(measure(child.target, part, traffic))
    return statistics.fmean(service_rates), statistics.fmean(baseline_rates)


def unary_rps(target: str, seconds: float, traffic: Traffic) -> float:
    channels = [_channel(target) for _ in range(CLIENT_THREADS)]
    stubs = [pb_grpc.ScreeningServiceStub(channel) for channel in channels]
    try:
        for stub in stubs:  # warm-up: every connection open
            stub.Screen(pb.ScreenRequest(screening=traffic.next()))
        deadline = time.perf_counter() + seconds
        counts = [0] * CLIENT_THREADS

        def worker(i: int) -> None:
            while time.perf_counter() < deadline:
                stubs[i].Screen(pb.ScreenRequest(screening=traffic.next()), timeout=30)
                counts[i] += 1

        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            list(pool.map(worker, range(CLIENT_THREADS)))
        return sum(counts) / (time.perf_counter() - started)
    finally:
        for channel in channels:
            channel.close()


def _manifest(traffic: Traffic, size: int) -> Iterator[pb.ScreenManifestRequest]:
    for _ in range(size):
        yield pb.ScreenManifestRequest(screening=traffic.next())


def stream_per_s(target: str, seconds: float, traffic: Traffic) -> float:
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.ScreeningServiceStub(channel)
        done = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            for response in stub.ScreenManifest(_manifest(traffic, MANIFEST_SIZE), timeout=120):
                if response.HasField("error"):
                    raise RuntimeError(f"manifest item failed: {response.error.message}")
                done += 1
        return done / (time.perf_counter() - started)


def latency_at_rate(target: str, rate: float, seconds: float, traffic: Traffic) -> dict[str, float]:
    """Open loop: requests leave on schedule whether or not earlier ones came back."""
    stubs = [pb_grpc.ScreeningServiceStub(_channel(target)) for _ in range(4)]
    for stub in stubs:  # connections open before the clock starts
        stub.Screen(pb.ScreenRequest(screening=traffic.next()))
    latencies: list[float] = []
    lock = threading.Lock()
    pending: list[Any] = []
    total = int(rate * seconds)
    started = time.perf_counter()
    for i in range(total):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent = time.perf_counter()
        stub = stubs[i % len(stubs)]
        future = stub.Screen.future(pb.ScreenRequest(screening=traffic.next()), timeout=30)

        def done(f: Any, sent: float = sent) -> None:
            f.result()
            with lock:
                latencies.append((time.perf_counter() - sent) * 1000)

        future.add_done_callback(done)
        pending.append(future)
    for f in pending:
        f.result()
    time.sleep(0.05)
    latencies.sort()
    return {
        "rate": rate,
        "p50": round(latencies[len(latencies) // 2], 3),
        "p99": round(latencies[int(len(latencies) * 0.99) - 1], 3),
    }


def replay_seconds(
    target: str, screenings: int, traffic: Traffic, streams: int = REPLAY_STREAMS
) -> float:
    """A day's traffic replayed as manifests of 500, ``streams`` of them at a time."""
    sizes = [MANIFEST_SIZE] * (screenings // MANIFEST_SIZE)
    if screenings % MANIFEST_SIZE:
        sizes.append(screenings % MANIFEST_SIZE)
    pending = iter(sizes)
    lock = threading.Lock()

    def sender() -> None:
        stub = pb_grpc.ScreeningServiceStub(_channel(target))
        while True:
            with lock:
                size = next(pending, 0)
            if not size:
                return
            for response in stub.ScreenManifest(_manifest(traffic, size), timeout=300):
                if response.HasField("error"):
                    raise RuntimeError(f"manifest item failed: {response.error.message}")

    started = time.perf_counter()
    with ThreadPoolExecutor(streams) as pool:
        for done in [pool.submit(sender) for _ in range(streams)]:
            done.result()
    return time.perf_counter() - started


def memory_growth(
    child: Child, screenings: int, traffic: Traffic, tick: Callable[[int], None]
) -> dict[str, float]:
    """Resident memory at the start and at the end of ``screenings``, after a warm-up.

    Each end is the mean of the samples taken after each manifest of its first or
    last twentieth: one sample moves by ±10 MB with what the allocator holds at
    that moment (a manifest's buffers, say), which is noise, not growth.
    """
    stub = pb_grpc.ScreeningServiceStub(grpc.insecure_channel(child.target))
    warmup = max(MANIFEST_SIZE, screenings // 10)
    samples: list[float] = []

    def push(count: int, sample: bool) -> None:
        while count > 0:
            size = min(MANIFEST_SIZE, count)
            for _ in stub.ScreenManifest(_manifest(traffic, size), timeout=300):
                pass
            count -= size
            tick(size)
            if sample:
                samples.append(_tree_rss_mb(child.pid))

    push(warmup, sample=False)
    samples.append(_tree_rss_mb(child.pid))
    push(screenings, sample=True)
    window = max(1, len(samples) // MEMORY_WINDOWS)
    start = statistics.fmean(samples[:window])
    end = statistics.fmean(samples[-window:])
    return {
        "screenings": screenings,
        "rss_start_mb": round(start, 1),
        "rss_end_mb": round(end, 1),
        "growth_pct": round((end - start) / start * 100, 2),
    }


def run_bench(
    seconds: float,
    rate: float,
    screenings: int,
    console: Console,
    replay: int = NATIONAL_DAY,
    processes: int = 1,
    store: str | None = None,
) -> dict[str, Any]:
    """Raises BenchError."""
    if store is not None:
        check_store_empty(store)
    host = machine.describe()  # before the servers start, so that nothing else runs
    with tempfile.TemporaryDirectory(prefix="depscreen-bench-") as tmp:
        service = start_service(Path(tmp), processes, store)
        try:
            baseline = start_baseline(processes)
        except BaseException:
            service.stop()
            raise
        try:
            traffic = Traffic("bench")
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("unary", total=None)
                s_rps, b_rps = paired(unary_rps, service, baseline, seconds, traffic)
                progress.update(task, description="stream")
                s_stream, b_stream = paired(stream_per_s, service, baseline, seconds, traffic)
                progress.update(task, description=f"replay of {replay} screenings")
                replay_s = replay_seconds(service.target, replay, traffic)
                progress.update(task, description=f"latency at {rate:g}/s")
                time.sleep(SETTLE_SECONDS)
                latency = latency_at_rate(service.target, rate, seconds, traffic)
                progress.update(task, description="memory", total=screenings * 1.1)
                memory = memory_growth(
                    service, screenings, traffic, lambda n: progress.advance(task, n)
                )
        finally:
            service.stop()
            baseline.stop()
    return {
        "machine": host,
        "processes": processes,
        "store": parse_store_url(store).kind if store else SQLITE,
        "unary": {
            "screen_rps": round(s_rps, 1),
            "baseline_rps": round(b_rps, 1),
            "ratio": round(s_rps / b_rps, 3),
        },
        "stream": {
            "screen_per_s": round(s_stream, 1),
            "baseline_per_s": round(b_stream, 1),
            "ratio": round(s_stream / b_stream, 3),
        },
        "latency_ms": latency,
        "memory": memory,
        "replay": {
            "screenings": replay,
            "streams": REPLAY_STREAMS,
            "seconds": round(replay_s, 2),
        },
    }


TARGETS = {
    ("unary", "ratio"): (">=", 0.6),
    ("stream", "ratio"): (">=", 0.5),
    ("latency_ms", "p99"): ("<=", 5.0),
    ("memory", "growth_pct"): ("<=", 10.0),
    ("replay", "seconds"): ("<=", 10.0),
}


def verdicts(result: dict[str, Any]) -> dict[str, bool]:
    out = {}
    for (group, key), (op, limit) in TARGETS.items():
        value = result[group][key]
        out[f"{group}.{key}"] = value >= limit if op == ">=" else value <= limit
    return out


def _cmd_bench(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    try:
        result = run_bench(
            args.seconds,
            args.rate,
            args.screenings,
            console,
            args.replay,
            args.processes,
            args.store,
        )
    except BenchError as error:
        print(f"depscreen bench: {error}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    result["targets_met"] = verdicts(result)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    host = result["machine"]
    table = Table(
        title=f"depscreen bench ({host['cpus']} CPUs: {host['cpu']}; Python {host['python']},"
        f" yardstick loop {host['python_loop_ms']:g} ms;"
        f" {result['processes']} server processes each, {result['store']} store)"
    )
    for column in ("measure", "service", "baseline", "ratio / value", "target", "met"):
        table.add_column(column)
    met = result["targets_met"]
    u, s, lat, mem = result["unary"], result["stream"], result["latency_ms"], result["memory"]
    table.add_row(
        "Screen, req/s",
        f"{u['screen_rps']:.0f}",
        f"{u['baseline_rps']:.0f}",
        f"{u['ratio']:.2f}",
        "≥ 0.6",
        str(met["unary.ratio"]),
    )
    table.add_row(
        f"ScreenManifest ({MANIFEST_SIZE}), items/s",
        f"{s['screen_per_s']:.0f}",
        f"{s['baseline_per_s']:.0f}",
        f"{s['ratio']:.2f}",
        "≥ 0.5",
        str(met["stream.ratio"]),
    )
    table.add_row(
        f"Screen p50 / p99 at {lat['rate']:g}/s, ms",
        f"{lat['p50']:.2f} / {lat['p99']:.2f}",
        "",
        f"{lat['p99']:.2f}",
        "≤ 5",
        str(met["latency_ms.p99"]),
    )
    table.add_row(
        f"RSS over {mem['screenings']} screenings, MB",
        f"{mem['rss_start_mb']} → {mem['rss_end_mb']}",
        "",
        f"{mem['growth_pct']:+.1f} %",
        "≤ 10 %",
        str(met["memory.growth_pct"]),
    )
    rep = result["replay"]
    table.add_row(
        f"replay of {rep['screenings']} screenings ({rep['streams']} manifests at once), s",
        f"{rep['seconds']:.1f}",
        "",
        f"{rep['seconds']:.1f}",
        "≤ 10",
        str(met["replay.seconds"]),
    )
    Console().print(table)
    return 0


def add_bench_parser(commands: Any) -> None:
    bench = commands.add_parser(
        "bench", help="measure the service against a transport-only baseline"
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
    bench.set_defaults(func=_cmd_bench)
