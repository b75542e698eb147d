"""The container image, built from Debian packages and the package index, run with podman.

It serves a screening on its gRPC port, with health on the same port (today's server),
as the numeric non-root user, on a read-only root filesystem with state on a volume;
SIGTERM turns health NOT_SERVING, drains and exits 0 within the grace period; its
OCI archive loads where no registry is reached.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support.podman import (
    CONTAINER_DIR,
    ENV,
    logs,
    podman,
    screen_once,
    venv_tool,
    wait_container_gone,
)
from support.servers import free_port, metrics_text, wait_serving

GRACE = 20  # seconds podman waits after SIGTERM before SIGKILL
# The first test here builds the image (about two minutes, more on a busy machine).
pytestmark = pytest.mark.timeout(1500)


@pytest.fixture
def container(image: str, tmp_path: Path) -> Iterator[dict[str, object]]:
    name = f"depscreen-test-{secrets.token_hex(4)}"
    volume = f"{name}-state"
    port, metrics = free_port(), free_port()
    key = tmp_path / "pseudonym.key"
    key.write_text(secrets.token_hex(32) + "\n")
    key.chmod(0o644)  # the container's user is not the owner of this file
    podman(
        "run",
        "--detach",
        "--name",
        name,
        "--read-only",
        "--publish",
        f"127.0.0.1:{port}:50051",
        "--publish",
        f"127.0.0.1:{metrics}:9464",
        "--volume",
        f"{volume}:/var/lib/depscreen",
        # A setting from a file under /etc/depscreen, named by a DEPSCREEN_ variable.
        "--volume",
        f"{key}:/etc/depscreen/pseudonym.key:ro",
        "--env",
        "DEPSCREEN_KEY_FILE=/etc/depscreen/pseudonym.key",
        "--stop-timeout",
        str(GRACE),
        image,
        # No TLS material mounted: plaintext on the container's address, on purpose.
        "--insecure",
    )
    target = f"127.0.0.1:{port}"
    try:
        wait_serving(target, timeout=60)
    except TimeoutError:
        raise AssertionError(logs(name)) from None
    yield {"name": name, "target": target, "metrics": metrics, "volume": volume}
    podman("rm", "--force", name, check=False)
    podman("volume", "rm", "--force", volume, check=False)


@pytest.mark.parametrize("containerfile", ["Containerfile", "postgresql/Containerfile"])
def test_containerfile_is_hadolint_clean(containerfile: str) -> None:
    done = subprocess.run(
        [venv_tool("hadolint"), str(CONTAINER_DIR / containerfile)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_image_config(image: str) -> None:
    config = json.loads(podman("image", "inspect", image))[0]["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["/opt/depscreen/bin/depscreen", "serve"]
    assert {"50051/tcp", "9464/tcp", "50052/tcp"} <= set(config["ExposedPorts"])
    assert "/var/lib/depscreen" in config["Volumes"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["DEPSCREEN_LISTEN"] == "0.0.0.0:50051"
    assert env["DEPSCREEN_METRICS_LISTEN"] == "0.0.0.0:9464"
    assert env["DEPSCREEN_STORE"] == "sqlite:////var/lib/depscreen/depscreen.db"


def test_screens_as_non_root_on_a_read_only_root(container: dict[str, object]) -> None:
    name = str(container["name"])
    assessment = screen_once(str(container["target"]), "image-1")
    assert assessment.assessment_id
    assert "depscreen_screenings_total" in metrics_text(int(str(container["metrics"])))
    inspect = json.loads(podman("container", "inspect", name))[0]
    assert inspect["HostConfig"]["ReadonlyRootfs"] is True
    ids = podman("exec", name, "python3", "-c", "import os; print(os.getuid(), os.getgid())")
    assert ids == "10001 10001"
    touch = subprocess.run(
        ["podman", "exec", name, "touch", "/opt/depscreen/x"], env=ENV, capture_output=True
    )
    assert touch.returncode != 0 and b"Read-only file system" in touch.stderr
    # State went to the volume, and the key came from the mounted file: none beside the store.
    listing = podman("exec", name, "ls", "/var/lib/depscreen").split()
    assert "depscreen.db" in listing
    assert "depscreen.db.key" not in listing


def test_sigterm_turns_not_serving_drains_and_exits_0(container: dict[str, object]) -> None:
    name, target = str(container["name"]), str(container["target"])
    screen_once(target, "image-before-stop")
    seen: list[int] = []
    channel = grpc.insecure_channel(target)
    watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))

    def follow() -> None:
        try:
            for reply in watch:
                seen.append(reply.status)
        except grpc.RpcError:
            pass  # the server closed the stream while stopping

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    time.sleep(0.5)
    start = time.monotonic()
    podman("kill", "--signal", "TERM", name)
    exit_code = podman("wait", name, timeout=GRACE + 10)
    elapsed = time.monotonic() - start
    reader.join(5)
    channel.close()
    assert exit_code == "0", logs(name)
    assert elapsed < GRACE
    assert seen[0] == health_pb2.HealthCheckResponse.SERVING
    assert health_pb2.HealthCheckResponse.NOT_SERVING in seen
    assert "shutting down" in logs(name)
    wait_container_gone(name, 0)


def test_archive_loads_without_a_registry(image_archive: Path, image: str) -> None:
    out = podman("load", "--input", str(image_archive))
    assert image in out
