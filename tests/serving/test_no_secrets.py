"""The store URL's password and the database driver's error text stay out of sight."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from departure_screening.v1 import screening_pb2 as pb
from support.builders import screening
from support.postgres import PostgresCluster
from support.servers import ServerProcess, free_port

PASSWORD = "pw-" + secrets.token_hex(8)


def with_password(url: str) -> str:
    """The test cluster trusts loopback, so any password is accepted and ignored."""
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@", 1)


def children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def test_workers_get_the_store_url_off_their_command_line(pg_database: str) -> None:
    url = with_password(pg_database)
    server = ServerProcess(
        store=None,  # by the environment, as an operator keeps a password off `ps`
        extra_args=["--processes", "2"],
        env={"DEPSCREEN_STORE": url, "DEPSCREEN_PSEUDONYM_KEY": secrets.token_hex(32)},
        port=free_port(),
    ).start()
    try:
        assert server.proc is not None
        deadline = time.monotonic() + 30
        while "with 2 processes" not in server.log():
            assert time.monotonic() < deadline, server.log()
            threading.Event().wait(0.05)
        workers = children(server.proc.pid)
        assert len(workers) == 2
        for pid in workers:
            line = cmdline(pid)
            assert "--worker-of-supervisor" in line  # it is a worker
            assert PASSWORD not in line and "postgresql://" not in line, line
        stub = server.stub()
        assert stub.Screen(pb.ScreenRequest(screening=screening()), timeout=30).assessment
    finally:
        server.terminate()
    assert PASSWORD not in server.log()


def test_a_bad_store_url_is_reported_without_its_password() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "departure_screening", "serve"],
        env={**os.environ, "DEPSCREEN_STORE": f"postgresq://u:{PASSWORD}@db.example/x"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "unsupported store URL" in result.stderr
    assert PASSWORD not in result.stderr + result.stdout


def test_a_driver_error_reaches_the_caller_as_plain_unavailable(
    outage_db: tuple[PostgresCluster, str],
) -> None:
    cluster, db = outage_db
    env = {"DEPSCREEN_PSEUDONYM_KEY": secrets.token_hex(32)}
    with ServerProcess(store=with_password(db), env=env) as server:
        stub = server.stub()
        assert stub.Screen(pb.ScreenRequest(screening=screening()), timeout=30).assessment
        cluster.stop()  # outage_db starts it again
        errors: list[grpc.RpcError] = []
        for call in (
            lambda: stub.Screen(pb.ScreenRequest(screening=screening()), timeout=30),
            lambda: stub.GetAssessment(pb.GetAssessmentRequest(assessment_id="a-1"), timeout=30),
            lambda: list(
                stub.ScreenManifest(
                    iter([pb.ScreenManifestRequest(screening=screening())]), timeout=30
                )
            ),
        ):
            with pytest.raises(grpc.RpcError) as info:
                call()
            errors.append(info.value)
        dbname = db.rsplit("/", 1)[1]
        for error in errors:
            assert error.code() == grpc.StatusCode.UNAVAILABLE
            text = f"{error.details()} {error.debug_error_string()}"
            for secret in (PASSWORD, "127.0.0.1", str(cluster.port), dbname, "postgres"):
                assert secret not in (error.details() or ""), (secret, text)
            assert "psycopg" not in text.lower() and "connection" not in text.lower(), text
    assert PASSWORD not in server.log()
