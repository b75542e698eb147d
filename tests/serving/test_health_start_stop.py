"""Health at start (a store down, then back) and at stop (NOT_SERVING, drain, grace)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support.builders import screening
from support.postgres import PostgresCluster
from support.servers import SERVICE, ServerProcess, free_port
from support.waiting import wait_for

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def health(target: str) -> int | None:
    """The status, or None while nothing answers."""
    with grpc.insecure_channel(target) as channel:
        try:
            return int(
                health_pb2_grpc.HealthStub(channel)
                .Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=2)
                .status
            )
        except grpc.RpcError:
            return None


def test_a_store_down_at_start_gives_not_serving_then_serving(
    outage_db: tuple[PostgresCluster, str], tmp_path: Path
) -> None:
    cluster, db = outage_db
    cluster.stop()  # outage_db starts it again if the test fails
    port = free_port()
    target = f"127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "departure_screening", "serve", "--listen", target),
            *("--metrics-listen", f"127.0.0.1:{free_port()}"),
        ],
        env={
            **os.environ,
            "DEPSCREEN_STORE": db,
            "DEPSCREEN_PSEUDONYM_KEY": secrets.token_hex(32),
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: proc.poll() is not None or health(target) == NOT_SERVING, timeout=60)
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()
        stub = pb_grpc.ScreeningServiceStub(grpc.insecure_channel(target))
        with pytest.raises(grpc.RpcError) as info:
            stub.Screen(pb.ScreenRequest(screening=screening()), timeout=30)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        cluster.start()
        wait_for(lambda: health(target) == SERVING, timeout=60)
        assert stub.Screen(pb.ScreenRequest(screening=screening()), timeout=30).assessment
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


def test_shutdown_drains_not_serving_while_still_answering() -> None:
    server = ServerProcess(
        store="memory:", extra_args=["--drain-seconds", "3", "--grace-seconds", "1"]
    ).start()
    try:
        stub = server.stub()
        assert stub.Screen(pb.ScreenRequest(screening=screening()), timeout=10).assessment
        assert server.proc is not None
        stopping = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        wait_for(lambda: health(server.target) == NOT_SERVING, timeout=10)
        # Load balancers see NOT_SERVING; calls that still arrive are answered.
        answered = stub.Screen(pb.ScreenRequest(screening=screening()), timeout=10)
        assert answered.assessment.assessment_id
        assert server.proc.wait(30) == 0
        # Generous: the drain is waited out, and the stop does not hang past it.
        assert 3.0 <= time.monotonic() - stopping < 20.0
        assert "draining for 3 s" in server.log()
    finally:
        server.kill()
