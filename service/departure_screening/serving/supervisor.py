"""``depscreen serve --processes N``: N server processes behind one gRPC port.

One Python process runs the screening pipeline on one core at a time, so the
supervisor starts N workers instead, each a complete ``depscreen serve``. They
bind the same address with SO_REUSEPORT and the kernel spreads incoming
connections over them. The supervisor itself serves no gRPC; it

- refuses settings that cannot work with several processes (status 2);
- serves /metrics: each worker writes its values to files in a private directory
  (prometheus_client's multiprocess mode) and the supervisor adds them up;
- forwards SIGTERM/SIGINT to the workers, waits for them to drain and exits 0;
- forwards SIGHUP to the workers, each of which reloads its rules;
- stops everything and exits 1 when a worker dies, so that the service manager
  restarts the whole set rather than running on with fewer processes.

The caller (``cli._cmd_serve``) has already built the app once with the same
settings: a bad ruleset, store URL or key fails there, before any worker starts,
and the store's migrations and the SQLite key file are made once instead of
being raced by N workers.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from types import FrameType

from prometheus_client.multiprocess import mark_process_dead

from departure_screening.metrics import MULTIPROC_DIR_ENV, supervisor_registry
from departure_screening.serving.config import (
    ServeConfig,
    serve_arguments,
    serve_environment,
    split_host_port,
)
from departure_screening.serving.metrics_http import start_metrics_http
from departure_screening.serving.notify import notify, start_watchdog
from departure_screening.store.factory import MEMORY, parse_store_url

log = logging.getLogger(__name__)

EXIT_SETTINGS = 2  # the settings cannot work; restarting will not help
EXIT_WORKER_DIED = 1
# How often the supervisor looks at its workers and the readiness pipe.
POLL_SECONDS = 0.1
# Beyond the drain and grace periods, time a worker gets to stop before it is killed.
STOP_MARGIN_SECONDS = 5.0
# From <linux/prctl.h>.
PR_SET_PDEATHSIG = 1


def supervise(config: ServeConfig) -> int:
    """Run ``config.processes`` workers until a signal or a worker's death."""
    problem = _settings_problem(config)
    if problem:
        print(f"depscreen serve: {problem}", file=sys.stderr)
        return EXIT_SETTINGS
    stop = _stop_on_signals()
    multiproc_dir = tempfile.mkdtemp(prefix="depscreen-metrics-")
    try:
        return _run(config, multiproc_dir, stop)
    finally:
        shutil.rmtree(multiproc_dir, ignore_errors=True)


def _settings_problem(config: ServeConfig) -> str | None:
    if parse_store_url(config.store).kind == MEMORY:
        # Each worker would have its own history and key: trips would not be linked.
        return "--store memory: cannot be shared by several processes; use SQLite or PostgreSQL"
    try:
        _, port = split_host_port(config.listen)
        split_host_port(config.metrics_listen)
    except ValueError as exc:
        return str(exc)
    if port == 0:
        # Every worker would get a different port of its own.
        return "--listen needs a fixed port with --processes above 1 (port 0 picks one per process)"
    return _cannot_listen(config.listen)


def _cannot_listen(listen: str) -> str | None:
    """Why ``listen`` cannot be listened on, if it cannot.

    With SO_REUSEPORT the workers would quietly share a port another server of the
    same user already listens on; a plain bind fails then, as a single process would.
    """
    host, port = split_host_port(listen)
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is fine
            probe.bind(address)
    except OSError as exc:
        return f"cannot listen on {listen}: {exc.strerror or exc}"
    return None


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def _run(config: ServeConfig, multiproc_dir: str, stop: threading.Event) -> int:
    try:
        metrics_http = start_metrics_http(config, supervisor_registry(multiproc_dir))
    except OSError as exc:
        print(
            f"depscreen serve: cannot serve metrics on {config.metrics_listen}: {exc}",
            file=sys.stderr,
        )
        return EXIT_SETTINGS
    ready = ReadyPipe()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(config.processes):
            workers.append(_start_worker(config, multiproc_dir, ready.write_fd))
        ready.close_write_end()
        # Each worker reloads its own rules; SIGHUP to the set reaches them all.
        signal.signal(signal.SIGHUP, lambda signum, frame: _forward(workers, signum))
        return _watch(config, workers, ready, stop, metrics_http.server_port)
    finally:
        stop_within = config.drain_seconds + config.grace_seconds + STOP_MARGIN_SECONDS
        _stop_workers(workers, stop_within, multiproc_dir)
        ready.close()
        metrics_http.shutdown()


def _forward(workers: list[subprocess.Popen[bytes]], signum: int) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signum)


def _start_worker(
    config: ServeConfig, multiproc_dir: str, ready_fd: int
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "departure_screening",
        "serve",
        *serve_arguments(replace(config, processes=1)),
        "--worker-of-supervisor",
        str(os.getpid()),
        "--ready-fd",
        str(ready_fd),
    ]
    return subprocess.Popen(
        command,
        # prometheus_client picks multiprocess mode when it is imported: this must be
        # in the environment the worker starts with. The store URL comes this way too,
        # never on the command line, which every user of the host can read.
        env={**os.environ, **serve_environment(config), MULTIPROC_DIR_ENV: multiproc_dir},
        pass_fds=(ready_fd,),
        # Its own process group: a terminal's Ctrl-C reaches the supervisor only, which
        # then stops the workers in order.
        process_group=0,
    )


def _watch(
    config: ServeConfig,
    workers: list[subprocess.Popen[bytes]],
    ready: ReadyPipe,
    stop: threading.Event,
    metrics_port: int,
) -> int:
    """Wait for a signal (status 0) or a worker's death (status 1, or 2 at start-up)."""
    serving = False
    start_watchdog(lambda: serving and all(w.poll() is None for w in workers), stop)
    while not stop.wait(POLL_SECONDS):
        dead = next((w for w in workers if w.poll() is not None), None)
        if dead is not None:
            log.error("worker %d %s; stopping the others", dead.pid, _exit_text(dead.returncode))
            # A worker refusing its settings at start-up (say, the store went away since
            # the check) is a settings problem like in a single process.
            starting_up = not serving and dead.returncode == EXIT_SETTINGS
            return EXIT_SETTINGS if starting_up else EXIT_WORKER_DIED
        if not serving and ready.count() >= len(workers):
            serving = True
            ready.close()
            log.info(
                "serving on %s with %d processes, metrics on port %d",
                config.listen,
                len(workers),
                metrics_port,
            )
            notify("READY=1")
    log.info("signal received: stopping %d workers", len(workers))
    notify("STOPPING=1")
    return 0


def _stop_workers(
    workers: list[subprocess.Popen[bytes]], timeout: float, multiproc_dir: str
) -> None:
    """SIGTERM each worker (each drains as a single server would), kill late ones."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for worker in workers:
        try:
            worker.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("worker %d still running after %.0f s: killing it", worker.pid, timeout)
            worker.kill()
            worker.wait()
        # Its live gauges (the ruleset version) go; its counters stay in the sums.
        mark_process_dead(worker.pid, multiproc_dir)  # type: ignore[no-untyped-call]


def _exit_text(returncode: int) -> str:
    if returncode < 0:
        return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with status {returncode}"


class ReadyPipe:
    """Each worker writes one line here once its server is started."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        self._lines = 0

    def close_write_end(self) -> None:
        """The workers hold their copies; without ours, the pipe ends when they do."""
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1

    def count(self) -> int:
        """How many workers have said they are ready so far."""
        with contextlib.suppress(BlockingIOError):  # nothing new yet
            self._lines += os.read(self.read_fd, 4096).count(b"\n")
        return self._lines

    def close(self) -> None:
        self.close_write_end()
        if self.read_fd >= 0:
            os.close(self.read_fd)
            self.read_fd = -1


# -- in the worker ---------------------------------------------------------------


def follow_supervisor(supervisor_pid: int) -> None:
    """Get SIGTERM (and so shut down) when the supervisor dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        # The signal comes when the thread that started this process ends; the
        # supervisor starts workers from its main thread, which lives as long as it does.
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    else:
        threading.Thread(
            target=_stop_when_orphaned, args=(supervisor_pid,), daemon=True, name="orphan"
        ).start()
    # The supervisor may have died before the line above took effect.
    if os.getppid() != supervisor_pid:
        raise SystemExit(EXIT_WORKER_DIED)


def _stop_when_orphaned(supervisor_pid: int) -> None:
    while os.getppid() == supervisor_pid:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


def announce_ready(ready_fd: int) -> None:
    """Tell the supervisor this worker is serving (one line on the readiness pipe)."""
    os.write(ready_fd, b"\n")
    os.close(ready_fd)
