from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from departure_screening.app import build_app
from departure_screening.config import ServeConfig
from departure_screening.ruleset import Ruleset, default_rules_dir, load_ruleset
from departure_screening.server import RunningServer, serve
from departure_screening.v1 import screening_pb2_grpc as pb_grpc
from support.servers import ServerProcess, metrics_text

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def ruleset() -> Ruleset:
    return load_ruleset(default_rules_dir())


@dataclass
class InProcessServer:
    running: RunningServer
    channel: grpc.Channel

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.running.port}"

    @property
    def stub(self) -> pb_grpc.ScreeningServiceStub:
        return pb_grpc.ScreeningServiceStub(self.channel)

    def metrics_text(self) -> str:
        return metrics_text(self.running.metrics_port)


def start_in_process(store: str = "memory:", **config: object) -> InProcessServer:
    app = build_app(
        ServeConfig(listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", store=store, **config)  # type: ignore[arg-type]
    )
    running = serve(app)
    return InProcessServer(running, grpc.insecure_channel(f"127.0.0.1:{running.port}"))


@pytest.fixture
def grpc_server() -> Iterator[InProcessServer]:
    """A fresh in-process server on loopback, with an empty in-memory store."""
    server = start_in_process()
    yield server
    server.channel.close()
    server.running.stop(0)


@pytest.fixture(scope="module")
def shared_server() -> Iterator[InProcessServer]:
    """One in-process server for a whole module (tests must not depend on each other)."""
    server = start_in_process()
    yield server
    server.channel.close()
    server.running.stop(0)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A ``depscreen serve`` process on a temporary SQLite store."""
    db = tmp_path_factory.mktemp("store") / "depscreen.db"
    with ServerProcess(store=f"sqlite:///{db}") as proc:
        yield proc
