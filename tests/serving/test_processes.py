"""``depscreen serve --processes 2``: one port, two workers, one /metrics, clean stops."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from departure_screening.metrics import create_metrics
from departure_screening.screening.ruleset import Ruleset
from departure_screening.serving.config import DEFAULT_CHECKPOINTS
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from support.builders import screening
from support.servers import SERVICE, ServerProcess, free_port

GRACE_SECONDS = 2.0
# The supervisor's margin beyond the grace period, plus slack for a loaded machine.
STOP_BOUND_SECONDS = GRACE_SECONDS + 5.0 + 5.0
# Each channel its own connection, so the kernel places each on a worker of its choice.
OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]

Series = tuple[str, frozenset[tuple[str, str]]]


def start_supervisor(tmp_path: Path) -> ServerProcess:
    server = ServerProcess(
        store=f"sqlite:///{tmp_path}/depscreen.db",
        extra_args=["--processes", "2", "--grace-seconds", str(GRACE_SECONDS)],
    ).start()
    deadline = time.monotonic() + 30
    while "with 2 processes" not in server.log():
        if time.monotonic() > deadline:
            server.kill()
            raise AssertionError(f"supervisor never said it was serving:\n{server.log()}")
        time.sleep(0.05)
    return server


def stop(server: ServerProcess) -> None:
    """SIGTERM, so the supervisor removes its metrics directory; SIGKILL if it hangs."""
    assert server.proc is not None
    if server.proc.poll() is None:
        try:
            server.terminate(timeout=STOP_BOUND_SECONDS)
        finally:
            server.kill()


@pytest.fixture(scope="module")
def supervisor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One supervisor for the tests that only call it."""
    server = start_supervisor(tmp_path_factory.mktemp("processes"))
    yield server
    stop(server)


@pytest.fixture
def own_supervisor(tmp_path: Path) -> Iterator[ServerProcess]:
    """A supervisor for a test that stops or breaks it."""
    server = start_supervisor(tmp_path)
    yield server
    stop(server)


# -- /proc ----------------------------------------------------------------------


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            # The command name may hold spaces; the fields after its ")" do not.
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Alive, and not a zombie nobody has reaped yet."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def wait_gone(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while any(running(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def workers_of(server: ServerProcess) -> list[int]:
    assert server.proc is not None
    workers = children(server.proc.pid)
    assert len(workers) == 2, workers
    return workers


def multiproc_dir(worker: int) -> Path:
    environ = Path(f"/proc/{worker}/environ").read_bytes().split(b"\0")
    values = [e.split(b"=", 1)[1] for e in environ if e.startswith(b"PROMETHEUS_MULTIPROC_DIR=")]
    assert len(values) == 1
    return Path(os.fsdecode(values[0]))


def established_connections(pid: int, port: int) -> int:
    """TCP connections accepted on ``port`` that process ``pid`` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rpartition(":")[2], 16)
            if local_port == port and fields[3] == "01" and fields[9] in inodes:
                count += 1
    return count


# -- metrics --------------------------------------------------------------------


def samples(text: str) -> dict[Series, float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(text: str, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples(text).items() if n == name and wanted <= ls)


def zero_series(ruleset: Ruleset) -> set[Series]:
    """The series a single server creates at zero before its first screening."""
    metrics = create_metrics(CollectorRegistry(), process_metrics=False)
    metrics.initialise(DEFAULT_CHECKPOINTS, (i.code for i in ruleset.indicators))
    return {
        series
        for series in samples_of(metrics.registry)
        if series[0].startswith("depscreen_") and not series[0].endswith("_created")
    }


def samples_of(registry: CollectorRegistry) -> set[Series]:
    return {
        (s.name, frozenset(s.labels.items()))
        for family in registry.collect()
        for s in family.samples
    }


# -- the tests ------------------------------------------------------------------


def test_both_workers_serve_and_metrics_add_up(supervisor: ServerProcess) -> None:
    before = supervisor.metrics_text()
    channels = [grpc.insecure_channel(supervisor.target, options=OWN_CONNECTION) for _ in range(16)]
    try:
        for channel in channels:
            for _ in range(2):
                stub = pb_grpc.ScreeningServiceStub(channel)
                assert stub.Screen(pb.ScreenRequest(screening=screening()), timeout=10).assessment
        # While the 16 connections are open, each worker holds some of them.
        held = [established_connections(w, supervisor.port) for w in workers_of(supervisor)]
        assert sum(held) >= 16 and all(held), held
    finally:
        for channel in channels:
            channel.close()
    after = supervisor.metrics_text()
    sent = 32
    for name, labels in (
        ("depscreen_screenings_total", {}),
        ("depscreen_rpc_requests_total", {"method": "Screen", "code": "OK"}),
        ("depscreen_screening_duration_seconds_count", {"method": "Screen"}),
    ):
        assert total(after, name, **labels) - total(before, name, **labels) == sent, name


def test_zero_series_and_one_ruleset_version_appear(
    supervisor: ServerProcess, ruleset: Ruleset
) -> None:
    exposed = set(samples(supervisor.metrics_text()))
    missing = zero_series(ruleset) - exposed
    assert not missing, sorted(missing)[:5]
    versions = [ls for n, ls in exposed if n == "depscreen_ruleset_info"]
    assert versions == [frozenset({("version", ruleset.version)})]


def test_health_and_list_indicators_on_the_shared_port(
    supervisor: ServerProcess, ruleset: Ruleset
) -> None:
    for _ in range(6):
        with grpc.insecure_channel(supervisor.target, options=OWN_CONNECTION) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            for service in ("", SERVICE):
                status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
                assert status.status == health_pb2.HealthCheckResponse.SERVING
            listed = pb_grpc.ScreeningServiceStub(channel).ListIndicators(
                pb.ListIndicatorsRequest(), timeout=5
            )
            assert listed.ruleset_version == ruleset.version
            assert len(listed.indicators) == len(ruleset.indicators)


def test_supervisor_metrics_pass_promtool(supervisor: ServerProcess) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool not found: install the Debian package 'prometheus'"
    stub = supervisor.stub()
    stub.Screen(pb.ScreenRequest(screening=screening(trip__destination_country="KH")))
    list(stub.ScreenManifest(iter([pb.ScreenManifestRequest(screening=screening())])))
    text = supervisor.metrics_text()
    assert "process_resident_memory_bytes" in text  # the supervisor's own
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_sigterm_stops_every_worker_and_cleans_up(own_supervisor: ServerProcess) -> None:
    workers = workers_of(own_supervisor)
    directory = multiproc_dir(workers[0])
    assert directory.is_dir()
    started = time.monotonic()
    assert own_supervisor.terminate(timeout=STOP_BOUND_SECONDS) == 0
    assert time.monotonic() - started < STOP_BOUND_SECONDS
    assert wait_gone(workers, 1.0)
    assert not directory.exists()
    log = own_supervisor.log()
    assert "stopping 2 workers" in log and log.count("shutting down") == 2


def test_a_dead_worker_stops_the_supervisor(own_supervisor: ServerProcess) -> None:
    assert own_supervisor.proc is not None
    victim, other = workers_of(own_supervisor)
    os.kill(victim, signal.SIGKILL)
    assert own_supervisor.proc.wait(STOP_BOUND_SECONDS) == 1
    assert wait_gone([other], 1.0)
    assert f"worker {victim} was killed by SIGKILL" in own_supervisor.log()


def test_workers_follow_a_killed_supervisor(own_supervisor: ServerProcess) -> None:
    workers = workers_of(own_supervisor)
    directory = multiproc_dir(workers[0])
    own_supervisor.kill()  # SIGKILL: the supervisor cannot tell anyone, nor clean up
    try:
        assert wait_gone(workers, STOP_BOUND_SECONDS)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def run_serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "departure_screening", "serve", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--processes", "0"], {}), ([], {"DEPSCREEN_PROCESSES": "0"})],
    ids=["flag", "environment"],
)
def test_processes_below_one_are_refused(args: list[str], env: dict[str, str]) -> None:
    result = run_serve("--store", "memory:", *args, env=env)
    assert result.returncode == 2
    assert "--processes: must be at least 1" in result.stderr


def test_settings_that_cannot_be_shared_are_refused(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/depscreen.db"
    metrics = f"127.0.0.1:{free_port()}"
    common = ["--processes", "2", "--metrics-listen", metrics]
    memory = run_serve(*common, "--store", "memory:", "--listen", f"127.0.0.1:{free_port()}")
    assert memory.returncode == 2 and "memory: cannot be shared" in memory.stderr
    any_port = run_serve(*common, "--store", store, "--listen", "127.0.0.1:0")
    assert any_port.returncode == 2 and "needs a fixed port" in any_port.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        in_use = run_serve(*common, "--store", store, "--listen", f"127.0.0.1:{port}")
    assert in_use.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in in_use.stderr
