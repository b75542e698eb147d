"""The bench's child processes: the service and the baseline, started and stopped."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import grpc

from departure_screening.access.client import PLAINTEXT, ClientCredentials, open_channel
from departure_screening.access.defaults import DEFAULT_AUDIENCE, DEFAULT_ISSUER
from departure_screening.bench.access_material import AccessMaterial
from departure_screening.errors import StoreUnavailable
from departure_screening.serving.keys import ENV_KEY, KEY_BYTES
from departure_screening.store.factory import (
    MEMORY,
    POSTGRESQL,
    SQLITE,
    open_audit_store,
    parse_store_url,
)
from departure_screening.store.sqlbase import NoStore, SchemaError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tree_rss_mb(pid: int) -> float:
    """The process and its worker processes: with --processes they all hold state."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return _rss_mb(pid) + sum(tree_rss_mb(int(c)) for c in children)


def tree_cpu_seconds(pid: int) -> float:
    """User and system CPU of the process, its threads and its worker processes so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return own + sum(tree_cpu_seconds(int(c)) for c in children)


_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Child:
    procs: list[subprocess.Popen[bytes]]
    target: str
    # What a client presents to it: nothing for a plaintext server.
    credentials: ClientCredentials = PLAINTEXT

    @property
    def pid(self) -> int:
        return self.procs[0].pid

    def cpu_seconds(self) -> float:
        return sum(tree_cpu_seconds(proc.pid) for proc in self.procs)

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
            _wait_ready(self.target, self.procs[0], credentials=self.credentials)
        except BenchError:
            self.stop()
            raise


class BenchError(RuntimeError):
    """The bench cannot run as asked; the message says why."""


def _wait_ready(
    target: str,
    proc: subprocess.Popen[bytes],
    timeout: float = 60,
    credentials: ClientCredentials = PLAINTEXT,
) -> None:
    """Until the server answers; a server that exits instead fails at once, not at the timeout."""
    channel = open_channel(target, credentials)
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
        try:
            store = open_audit_store(url)
        except NoStore:
            return  # an empty database: the server creates the store
        try:
            head = store.chain_head()
        finally:
            store.close()
    except (ValueError, StoreUnavailable, SchemaError) as error:
        raise BenchError(str(error)) from None
    if head.seq:
        raise BenchError(
            f"the store is not empty (its audit chain is at link {head.seq}); the bench writes"
            " hundreds of thousands of test screenings, so give it an empty store of its own"
        )


def service_environment(workdir: Path, store: str | None = None) -> dict[str, str]:
    """The service's environment: its store, and a key for a store that keeps none.

    Made once per run, so that the service in plain mode and in mTLS can share the store.
    """
    store = store or f"sqlite:///{workdir}/bench.db"
    # The store by the environment: its URL may hold a password, and a command line
    # is visible to every user of the host.
    env = {**os.environ, "DEPSCREEN_STORE": store}
    if parse_store_url(store).kind == POSTGRESQL and not env.get(ENV_KEY, "").strip():
        # Test travellers only: a key for this run (PostgreSQL keeps no key file).
        env[ENV_KEY] = secrets.token_hex(KEY_BYTES)
    return env


def start_service(
    workdir: Path,
    env: dict[str, str],
    processes: int = 1,
    access: AccessMaterial | None = None,
) -> Child:
    """The real server, on the store ``env`` names (see ``service_environment``).

    With ``access``, it serves mutual TLS with access control on, its officer tokens
    checked against the material's key set.
    """
    port, metrics = _free_port(), _free_port()
    target = f"127.0.0.1:{port}"
    secured: list[str] = []
    if access is not None:
        secured = [
            *access.tls_arguments(),
            "--officer-jwks",
            str(access.jwks),
            "--officer-issuer",
            DEFAULT_ISSUER,
            "--officer-audience",
            DEFAULT_AUDIENCE,
            # Its own plaintext health port: the default one may be taken by another service.
            "--probe-listen",
            f"127.0.0.1:{_free_port()}",
        ]
    name = "service-mtls" if access else "service"
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
            "--processes",
            str(processes),
            # No load balancer to tell: stop without the drain delay.
            "--drain-seconds",
            "0",
            *secured,
        ],
        stdout=subprocess.DEVNULL,
        stderr=(workdir / f"{name}.log").open("wb"),
        env=env,
    )
    child = Child([proc], target, access.client if access else PLAINTEXT)
    try:
        child.wait_ready()
    except BenchError as error:
        log = (workdir / f"{name}.log").read_text(errors="replace").strip().splitlines()
        raise BenchError(f"{error}: {log[-1] if log else 'no output'}") from None
    return child


def start_baseline(
    processes: int = 1, durable: Path | None = None, access: AccessMaterial | None = None
) -> Child:
    """The transport-only baseline, or with ``durable`` the durable one appending there.

    With ``access``, over the same mutual TLS as the service's, without its checks.
    """
    target = f"127.0.0.1:{_free_port()}"
    args = [sys.executable, "-m", "departure_screening.bench.baseline", "--listen", target]
    if processes > 1:
        args.append("--reuse-port")
    if durable is not None:
        args += ["--durable", str(durable)]
    if access is not None:
        args += access.tls_arguments()
    procs = [
        subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(processes)
    ]
    child = Child(procs, target, access.client if access else PLAINTEXT)
    child.wait_ready()
    return child
