"""Real servers for tests: in-process on loopback, or a ``depscreen serve`` process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from departure_screening.v1 import screening_pb2_grpc as pb_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVICE = "departure_screening.v1.ScreeningService"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def metrics_text(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return str(r.read().decode())


def wait_serving(target: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                status = stub.Check(
                    health_pb2.HealthCheckRequest(service=SERVICE), timeout=1
                ).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"server at {target} not SERVING after {timeout}s")
            time.sleep(0.1)


@dataclass
class ServerProcess:
    """``depscreen serve`` in a child process, with its log kept for inspection."""

    store: str | None  # None: the server's own default
    extra_args: Sequence[str] = ()
    env: dict[str, str] = field(default_factory=dict)
    command: Sequence[str] = (sys.executable, "-m", "departure_screening")
    cwd: Path | None = None
    port: int = 0
    metrics_port: int = 0
    # Set for a server over mTLS: readiness is asked on its plaintext probe port.
    probe_port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(default_factory=lambda: Path(tempfile.mkstemp(suffix=".log")[1]))

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self.port = self.port or free_port()
        self.metrics_port = self.metrics_port or free_port()
        args = [
            *self.command,
            "serve",
            "--listen",
            self.target,
            "--metrics-listen",
            f"127.0.0.1:{self.metrics_port}",
            *(["--store", self.store] if self.store is not None else []),
            *(["--probe-listen", f"127.0.0.1:{self.probe_port}"] if self.probe_port else []),
            *self.extra_args,
        ]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            cwd=self.cwd,
        )
        try:
            wait_serving(
                f"127.0.0.1:{self.probe_port}" if self.probe_port else self.target, timeout
            )
        except TimeoutError:
            self.kill()
            raise RuntimeError(f"server did not start:\n{self.log()}") from None
        return self

    def stub(self) -> pb_grpc.ScreeningServiceStub:
        return pb_grpc.ScreeningServiceStub(grpc.insecure_channel(self.target))

    def metrics_text(self) -> str:
        return metrics_text(self.metrics_port)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.terminate()
