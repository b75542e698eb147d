"""The SQLite store's disk fills up under a running server, then space is freed.

The test mounts a filesystem of its own (tmpfs of a few MiB, which needs root) and
fills it with a file; nothing of the host's disks is touched.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from departure_screening.v1 import screening_pb2 as pb
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support.builders import screening
from support.servers import SERVICE, ServerProcess
from support.waiting import wait_for

DISK = "16m"
# Screenings tried on the full disk before it must have failed: SQLite may first reuse
# log space it already holds (a few hundred KiB), so the first ones can still commit.
MOST_ON_A_FULL_DISK = 2_000
PATIENCE = 30.0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of ``DISK`` mounted for this test alone."""
    if os.geteuid() != 0:
        pytest.fail(
            "this test mounts a small filesystem and needs root (or CAP_SYS_ADMIN);"
            " it cannot run as this user",
            pytrace=False,
        )
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK},mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a small filesystem here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


def fill(path: Path) -> int:
    """A file that takes every free block; its descriptor (closed, with the file
    removed, to free the space again)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    block = b"\0" * 65536
    while True:
        try:
            os.write(fd, block)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
            if len(block) == 1:
                return fd
            block = block[: len(block) // 2]


def health(target: str) -> int:
    with grpc.insecure_channel(target) as channel:
        return int(
            health_pb2_grpc.HealthStub(channel)
            .Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=5)
            .status
        )


def test_a_full_disk_gives_unavailable_loses_nothing_and_serves_again_once_freed(
    small_disk: Path,
) -> None:
    db = small_disk / "depscreen.db"
    with ServerProcess(store=f"sqlite:///{db}") as server:
        stub = server.stub()
        acknowledged = [
            stub.Screen(pb.ScreenRequest(screening=screening()), timeout=PATIENCE).assessment
            for _ in range(20)
        ]
        filler = small_disk / "filler"
        fd = fill(filler)
        try:
            refused: grpc.RpcError | None = None
            for _ in range(MOST_ON_A_FULL_DISK):
                try:
                    reply = stub.Screen(pb.ScreenRequest(screening=screening()), timeout=PATIENCE)
                except grpc.RpcError as error:
                    refused = error
                    break
                acknowledged.append(reply.assessment)
            assert refused is not None, "screenings kept committing on a full disk"
            assert refused.code() == grpc.StatusCode.UNAVAILABLE, refused
            wait_for(
                lambda: health(server.target) == health_pb2.HealthCheckResponse.NOT_SERVING,
                PATIENCE,
                0.2,
            )
            # Still full: never a silent success, on either screening call.
            with pytest.raises(grpc.RpcError) as info:
                stub.Screen(pb.ScreenRequest(screening=screening()), timeout=PATIENCE)
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
            with pytest.raises(grpc.RpcError) as info:
                list(
                    stub.ScreenManifest(
                        iter([pb.ScreenManifestRequest(screening=screening())]), timeout=PATIENCE
                    )
                )
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
            # What was acknowledged can still be read.
            for a in acknowledged[:3]:
                got = stub.GetAssessment(pb.GetAssessmentRequest(assessment_id=a.assessment_id))
                assert got.assessment == a
        finally:
            os.close(fd)
            filler.unlink()
        # Space again: the same server, not restarted, serves by itself.
        wait_for(
            lambda: health(server.target) == health_pb2.HealthCheckResponse.SERVING, PATIENCE, 0.2
        )
        after = stub.Screen(pb.ScreenRequest(screening=screening()), timeout=PATIENCE).assessment
        acknowledged.append(after)
        for a in acknowledged:
            got = stub.GetAssessment(pb.GetAssessmentRequest(assessment_id=a.assessment_id))
            assert got.assessment == a
        metrics = server.metrics_text()
        assert 'code="UNAVAILABLE",method="Screen"' in metrics
        assert 'code="INTERNAL"' not in metrics
        assert server.proc is not None and server.proc.poll() is None
        # The background checkpoint failed on every pass while full: said once, not each time.
        assert server.log().count("SQLite background work failed") <= 2, server.log()
    verified = subprocess.run(
        [
            sys.executable,
            "-m",
            "departure_screening",
            "audit",
            "verify",
            "--store",
            f"sqlite:///{db}",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"{len(acknowledged)} records verified" in verified.stdout
