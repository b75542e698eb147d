"""podman for the deployment tests, with the project's containers.conf (runc, ulimits)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import grpc
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc

from support.builders import screening

ROOT = Path(__file__).resolve().parents[2]
CONTAINER_DIR = ROOT / "deploy" / "container"
ENV = {**os.environ, "CONTAINERS_CONF": str(CONTAINER_DIR / "containers.conf")}


def require(tool: str) -> str:
    """The tool's path; a plain failure (never a skip) when this machine lacks it."""
    path = shutil.which(tool)
    assert path, f"{tool} is not installed: run scripts/deploy-deps (Debian packages)"
    return path


def venv_tool(name: str) -> str:
    """A tool of the dev dependencies (PyPI), beside the running Python."""
    path = Path(sys.executable).parent / name
    assert path.exists(), f"{name} is missing: make setup installs it"
    return str(path)


def podman(*args: str, check: bool = True, timeout: float = 300) -> str:
    require("podman")
    done = subprocess.run(
        ["podman", *args], env=ENV, capture_output=True, text=True, timeout=timeout
    )
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed:\n{done.stderr}{done.stdout}")
    return done.stdout.strip()


def logs(name: str) -> str:
    """What the container wrote, standard output and error together (the log goes to the latter)."""
    done = subprocess.run(
        ["podman", "logs", name],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return done.stdout


def version() -> str:
    import tomllib

    with (ROOT / "pyproject.toml").open("rb") as f:
        return str(tomllib.load(f)["project"]["version"])


def screen_once(target: str, request_id: str) -> pb.Assessment:
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.ScreeningServiceStub(channel)
        reply = stub.Screen(
            pb.ScreenRequest(screening=screening(request_id=request_id)), timeout=10
        )
    return reply.assessment


def wait_container_gone(name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while podman("ps", "--quiet", "--filter", f"name=^{name}$") and time.monotonic() < deadline:
        time.sleep(0.2)
