"""The bench's timed phases: load generated on loopback against one server."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import grpc
from google.type import date_pb2

from departure_screening.access.client import PLAINTEXT, ClientCredentials, open_channel
from departure_screening.bench.children import Child, tree_rss_mb
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc

MANIFEST_SIZE = 500
CLIENT_THREADS = 16  # concurrent counters; the same for both servers
# A day's manifests come from several checkpoints at once. Eight connections also
# spread evenly enough over the server processes (the kernel hashes connections).
REPLAY_STREAMS = 8
# The service and the baseline are measured in turn, this many slices each.
PAIRED_SLICES = 4
# Memory is compared between the first and the last 1/MEMORY_WINDOWS of its phase.
MEMORY_WINDOWS = 20
# Open streams during the second half of the streams phase: supervisors' consoles
# and manifest feeds that hold a server thread each for as long as they are open.
OPEN_WATCHERS = 200
OPEN_MANIFESTS = 20
DESTINATIONS = ("KH", "SG", "MY", "JP", "TH", "SA", "LA", "AU")
# The overload phase offers this many times the rate the service sustains.
OVERLOAD_FACTOR = 2.0
# Connections of the overload phase (several, so that every server process gets some).
OVERLOAD_CHANNELS = 8
# Deadline of each call in the overload phase: far above what an admitted call takes.
OVERLOAD_TIMEOUT = 10.0


def _channel(target: str, credentials: ClientCredentials = PLAINTEXT) -> grpc.Channel:
    # A connection of its own, as separate counters have: with several server
    # processes the kernel spreads connections, not calls, over them.
    return open_channel(target, credentials, options=[("grpc.use_local_subchannel_pool", 1)])


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


@dataclass(frozen=True)
class Sliced:
    """A server's rate over its slices, and the CPU its processes spent per call meanwhile."""

    rate: float
    cpu_us_per_call: float


def in_turn(
    measure: Callable[[str, float, Traffic, ClientCredentials], float],
    children: Sequence[Child],
    seconds: float,
    traffic: Traffic,
    slices: int = PAIRED_SLICES,
) -> list[float]:
    """The rate of each server, each over ``seconds`` in slices taken in turn.

    A host's speed can change by half within a minute (other tenants, the
    hypervisor). Measured one after the other, a change between servers shows up
    as a change of their ratio; in alternating slices, every other round in
    reverse order (ABBA) so that a steady drift weighs on all alike, all see the
    same host. Each server is called with the credentials it asks for.
    """
    return [own.rate for own in in_turn_costed(measure, children, seconds, traffic, slices)]


def in_turn_costed(
    measure: Callable[[str, float, Traffic, ClientCredentials], float],
    children: Sequence[Child],
    seconds: float,
    traffic: Traffic,
    slices: int = PAIRED_SLICES,
) -> list[Sliced]:
    """``in_turn``, with each server's CPU per call over its slices.

    CPU time is what a loaded host changes least: a rate halves when other work
    takes the cores, the CPU a call costs barely moves. The calls of a slice are
    its rate times its length, connection set-up and warm-up included, so the
    figure is a little low, alike for every server.
    """
    part = seconds / slices
    rates: list[list[float]] = [[] for _ in children]
    cpu = [0.0 for _ in children]
    calls = [0.0 for _ in children]
    turns = list(enumerate(children))
    for i in range(slices):
        for n, child in turns if i % 2 == 0 else reversed(turns):
            cpu_before, started = child.cpu_seconds(), time.perf_counter()
            rate = measure(child.target, part, traffic, child.credentials)
            calls[n] += rate * (time.perf_counter() - started)
            cpu[n] += child.cpu_seconds() - cpu_before
            rates[n].append(rate)
    return [
        Sliced(statistics.fmean(own), cpu[n] / calls[n] * 1e6 if calls[n] else 0.0)
        for n, own in enumerate(rates)
    ]


def unary_rps(
    target: str, seconds: float, traffic: Traffic, credentials: ClientCredentials = PLAINTEXT
) -> float:
    channels = [_channel(target, credentials) for _ in range(CLIENT_THREADS)]
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


def stream_per_s(
    target: str, seconds: float, traffic: Traffic, credentials: ClientCredentials = PLAINTEXT
) -> float:
    with open_channel(target, credentials) as channel:
        stub = pb_grpc.ScreeningServiceStub(channel)
        done = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            for response in stub.ScreenManifest(_manifest(traffic, MANIFEST_SIZE), timeout=120):
                if response.HasField("error"):
                    raise RuntimeError(f"manifest item failed: {response.error.message}")
                done += 1
        return done / (time.perf_counter() - started)


def latency_at_rate(
    target: str,
    rate: float,
    seconds: float,
    traffic: Traffic,
    credentials: ClientCredentials = PLAINTEXT,
) -> dict[str, float]:
    """Open loop: requests leave on schedule whether or not earlier ones came back."""
    stubs = [pb_grpc.ScreeningServiceStub(_channel(target, credentials)) for _ in range(4)]
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
    target: str,
    screenings: int,
    traffic: Traffic,
    streams: int = REPLAY_STREAMS,
    credentials: ClientCredentials = PLAINTEXT,
) -> float:
    """A day's traffic replayed as manifests of 500, ``streams`` of them at a time."""
    sizes = [MANIFEST_SIZE] * (screenings // MANIFEST_SIZE)
    if screenings % MANIFEST_SIZE:
        sizes.append(screenings % MANIFEST_SIZE)
    pending = iter(sizes)
    lock = threading.Lock()

    def sender() -> None:
        stub = pb_grpc.ScreeningServiceStub(_channel(target, credentials))
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


@dataclass(frozen=True)
class Replayed:
    """A server's time for a replay, and the CPU its processes and the load generator spent."""

    seconds: float
    server_cpu_seconds: float
    client_cpu_seconds: float


def replay_in_turn(
    replay: Callable[[str, int, Traffic], float],
    children: Sequence[Child],
    screenings: int,
    traffic: Traffic,
    slices: int = PAIRED_SLICES,
) -> list[Replayed]:
    """Each server's time for ``replay`` of ``screenings``, in ``slices`` parts taken in turn.

    A day replayed on one server and then on the other saw two hosts whenever the
    host's speed changed between them (ratios of 0.99 to 1.61 in four runs on a busy
    host). In parts taken in turn, every other round in reverse order, a change in
    speed weighs on both alike, as in ``in_turn``. The CPU says where the cores went:
    the server's processes, and this process, which makes and reads the messages.
    """
    seconds = [0.0 for _ in children]
    server = [0.0 for _ in children]
    client = [0.0 for _ in children]
    turns = list(enumerate(children))
    for i in range(slices):
        part = screenings // slices + (1 if i < screenings % slices else 0)
        for n, child in turns if i % 2 == 0 else reversed(turns):
            server_before, client_before = child.cpu_seconds(), time.process_time()
            seconds[n] += replay(child.target, part, traffic)
            server[n] += child.cpu_seconds() - server_before
            client[n] += time.process_time() - client_before
    return [Replayed(*own) for own in zip(seconds, server, client, strict=True)]


def memory_growth(
    child: Child,
    screenings: int,
    traffic: Traffic,
    tick: Callable[[int], None],
    credentials: ClientCredentials = PLAINTEXT,
) -> dict[str, float]:
    """Resident memory at the start and at the end of ``screenings``, after a warm-up.

    Each end is the mean of the samples taken after each manifest of its first or
    last twentieth: one sample moves by ±10 MB with what the allocator holds at
    that moment (a manifest's buffers, say), which is noise, not growth.
    The warm-up (a tenth of ``screenings``) is reported with the figures: on a new
    SQLite store, the writing connection's 32 MiB page cache fills over about
    the first 10,000 screenings, so a shorter warm-up measures that filling.
    """
    stub = pb_grpc.ScreeningServiceStub(open_channel(child.target, credentials))
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
                samples.append(tree_rss_mb(child.pid))

    push(warmup, sample=False)
    samples.append(tree_rss_mb(child.pid))
    push(screenings, sample=True)
    window = max(1, len(samples) // MEMORY_WINDOWS)
    start = statistics.fmean(samples[:window])
    end = statistics.fmean(samples[-window:])
    return {
        "screenings": screenings,
        "warmup_screenings": warmup,
        "rss_start_mb": round(start, 1),
        "rss_end_mb": round(end, 1),
        "growth_pct": round((end - start) / start * 100, 2),
    }


def latency_with_open_streams(
    target: str, rate: float, seconds: float, traffic: Traffic
) -> dict[str, float]:
    """``Screen`` p99 at ``rate``, alone and then beside open watchers and manifests."""
    without = latency_at_rate(target, rate, seconds, traffic)
    channels = [_channel(target) for _ in range(8)]
    stubs = [pb_grpc.ScreeningServiceStub(c) for c in channels]
    release = threading.Event()

    def one_then_wait() -> Iterator[pb.ScreenManifestRequest]:
        yield pb.ScreenManifestRequest(screening=traffic.next())
        release.wait()

    watch = pb.WatchAlertsRequest(checkpoint="CGK", mode=pb.MODE_LIVE)
    calls: list[Any] = []
    try:
        for i in range(OPEN_WATCHERS):
            calls.append(stubs[i % len(stubs)].WatchAlerts(watch))
        for call in calls:
            call.initial_metadata()  # the subscription is live
        for i in range(OPEN_MANIFESTS):
            manifest = stubs[i % len(stubs)].ScreenManifest(one_then_wait())
            calls.append(manifest)
            next(manifest)  # its first answer: the stream holds its server thread now
        with_streams = latency_at_rate(target, rate, seconds, traffic)
    finally:
        release.set()
        for call in calls:
            call.cancel()
        for channel in channels:
            channel.close()
    return {
        "rate": rate,
        "watchers": OPEN_WATCHERS,
        "manifest_streams": OPEN_MANIFESTS,
        "p99_ms_without": without["p99"],
        "p99_ms_with": with_streams["p99"],
    }


def overload(
    target: str,
    sustainable_rps: float,
    seconds: float,
    traffic: Traffic,
    credentials: ClientCredentials = PLAINTEXT,
) -> dict[str, Any]:
    """Open loop at OVERLOAD_FACTOR times ``sustainable_rps``: what is admitted, how fast.

    Every call is a new screening. A call refused with RESOURCE_EXHAUSTED counts as
    refused; one answered counts as admitted, with its latency; any other outcome
    counts in ``other_errors``, by status in ``other_codes`` (UNAVAILABLE there is
    gRPC's own transport refusing streams it has no time to accept).
    ``offered_rps`` is the rate actually sent, which falls short of the asked one
    when the load generator cannot keep up.
    """
    rate = sustainable_rps * OVERLOAD_FACTOR
    channels = [_channel(target, credentials) for _ in range(OVERLOAD_CHANNELS)]
    stubs = [pb_grpc.ScreeningServiceStub(c) for c in channels]
    latencies: list[float] = []
    outcomes = {"refused": 0}
    other_codes: dict[str, int] = {}
    lock = threading.Lock()

    def done(future: Any, sent: float) -> None:
        code = future.code()
        with lock:
            if code == grpc.StatusCode.OK:
                latencies.append((time.perf_counter() - sent) * 1000)
            elif code == grpc.StatusCode.RESOURCE_EXHAUSTED:
                outcomes["refused"] += 1
            else:
                other_codes[code.name] = other_codes.get(code.name, 0) + 1

    try:
        for stub in stubs:  # connections open before the clock starts (the store untouched)
            stub.ListIndicators(pb.ListIndicatorsRequest(), timeout=OVERLOAD_TIMEOUT)
        total = max(1, int(rate * seconds))
        pending: list[Any] = []
        started = time.perf_counter()
        for i in range(total):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sent = time.perf_counter()
            future = stubs[i % len(stubs)].Screen.future(
                pb.ScreenRequest(screening=traffic.next()), timeout=OVERLOAD_TIMEOUT
            )
            future.add_done_callback(lambda f, sent=sent: done(f, sent))
            pending.append(future)
        sending = time.perf_counter() - started
        for future in pending:
            future.exception()  # waits for its outcome, whichever it is
        elapsed = time.perf_counter() - started
        time.sleep(0.05)  # the last callbacks run after their futures are done
    finally:
        for channel in channels:
            channel.close()
    latencies.sort()
    with lock:
        refused, other = outcomes["refused"], dict(other_codes)
    return {
        "sustainable_rps": round(sustainable_rps, 1),
        "offered_rps": round(total / sending, 1),
        "admitted_rps": round(len(latencies) / elapsed, 1),
        "refused_share": round(refused / total, 3),
        "admitted_p50_ms": round(latencies[len(latencies) // 2], 3) if latencies else 0.0,
        "admitted_p99_ms": (
            round(latencies[max(0, int(len(latencies) * 0.99) - 1)], 3) if latencies else 0.0
        ),
        "other_errors": sum(other.values()),
        "other_codes": other,
    }
