"""The durable baseline acknowledges only what is on disk, and shares its commits."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from departure_screening.bench.children import start_baseline
from departure_screening.bench.durable_log import DurableLog
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc
from support.builders import screening


def _rows(path: Path) -> list[bytes]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT body FROM requests ORDER BY id")]


def test_concurrent_appends_are_all_durable_and_share_commits(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    log = DurableLog(str(path))
    start = threading.Barrier(16)

    def append(i: int) -> None:
        start.wait()
        for j in range(25):
            log.append(f"{i}-{j}".encode())

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(append, range(16)))
    commits = log.commits
    log.close()
    assert sorted(_rows(path)) == sorted(f"{i}-{j}".encode() for i in range(16) for j in range(25))
    assert commits < 400  # sixteen writers at once: commits were shared


def test_a_failed_commit_fails_its_own_batch_and_the_log_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    log = DurableLog(str(path))
    log.append(b"before")
    with sqlite3.connect(path) as other:
        other.execute("DROP TABLE requests")
    with pytest.raises(sqlite3.OperationalError):
        log.append(b"lost")
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE requests (id INTEGER PRIMARY KEY, body BLOB)")
    log.append(b"after")
    log.close()
    assert _rows(path) == [b"after"]


def test_every_acknowledged_request_survives_a_kill(tmp_path: Path) -> None:
    path = tmp_path / "durable.db"
    child = start_baseline(processes=1, durable=path)
    try:
        with grpc.insecure_channel(child.target) as channel:
            stub = pb_grpc.ScreeningServiceStub(channel)
            sent = [screening() for _ in range(20)]
            for s in sent[:10]:
                stub.Screen(pb.ScreenRequest(screening=s), timeout=10)
            answers = stub.ScreenManifest(
                (pb.ScreenManifestRequest(screening=s) for s in sent[10:]), timeout=10
            )
            assert [a.assessment.request_id for a in answers] == [s.request_id for s in sent[10:]]
        child.procs[0].send_signal(signal.SIGKILL)
        child.procs[0].wait(10)
    finally:
        child.stop()
    rows = _rows(path)
    assert len(rows) == 20
    unary = [pb.ScreenRequest.FromString(body).screening.request_id for body in rows[:10]]
    items = [pb.ScreenManifestRequest.FromString(body).screening.request_id for body in rows[10:]]
    assert unary == [s.request_id for s in sent[:10]]
    assert items == [s.request_id for s in sent[10:]]


# Each process waits for the same moment, then opens the log: started together.
_OPEN_AND_APPEND = (
    "import sys, time\n"
    "from departure_screening.bench.durable_log import DurableLog\n"
    "while time.time() < float(sys.argv[3]): pass\n"
    "log = DurableLog(sys.argv[1])\n"
    "log.append(sys.argv[2].encode())\n"
    "log.close()\n"
)


def test_processes_starting_together_on_a_new_database_all_open_it(tmp_path: Path) -> None:
    """The bench starts a baseline's processes at once; each must get the database."""
    for round_ in range(5):
        path = tmp_path / f"round-{round_}.db"
        at = str(time.time() + 1.0)
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _OPEN_AND_APPEND, str(path), f"p{n}", at],
                stderr=subprocess.PIPE,
            )
            for n in range(3)
        ]
        failures = [p.communicate(timeout=60)[1].decode() for p in procs if p.wait(60) != 0]
        assert failures == []
        assert sorted(_rows(path)) == [b"p0", b"p1", b"p2"]
