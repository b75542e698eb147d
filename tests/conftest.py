from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from departure_screening.screening.ruleset import Ruleset, default_rules_dir, load_ruleset
from departure_screening.serving.app import build_app
from departure_screening.serving.config import ServeConfig
from departure_screening.serving.server import RunningServer, serve
from departure_screening.v1 import screening_pb2_grpc as pb_grpc
from hypothesis import settings
from support.postgres import PostgresCluster, PostgresUnavailable, create_database, drop_database
from support.servers import ServerProcess, metrics_text

ROOT = Path(__file__).resolve().parent.parent
# Servers started by tests stop without the production drain delay (nothing balances
# load in front of them); a test of the drain sets its own.
os.environ.setdefault("DEPSCREEN_DRAIN_SECONDS", "0")

# Properties are about what is accepted, not how fast: on a shared 2-core machine a
# first example that imports or starts something can take longer than any deadline.
settings.register_profile("depscreen", deadline=None)
settings.load_profile("depscreen")


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
    config.setdefault("drain_seconds", 0.0)
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


# -- PostgreSQL -----------------------------------------------------------------
# From DEPSCREEN_TEST_POSTGRES_URL when set (a server the tests may create databases
# on), else from a private throwaway cluster started here. Missing PostgreSQL binaries
# fail the tests that need them: the shared store is not optional.

ENV_URL = "DEPSCREEN_TEST_POSTGRES_URL"


class _ClusterHolder:
    """Starts the private cluster on first use, stops it at the end of the session."""

    def __init__(self) -> None:
        self.cluster: PostgresCluster | None = None

    def get(self) -> PostgresCluster:
        if self.cluster is None:
            try:
                cluster = PostgresCluster()
                cluster.start()
            except PostgresUnavailable as e:
                pytest.fail(f"cannot start a test PostgreSQL cluster: {e}", pytrace=False)
            self.cluster = cluster
        return self.cluster

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.destroy()
            self.cluster = None


@pytest.fixture(scope="session")
def _pg_holder() -> Iterator[_ClusterHolder]:
    holder = _ClusterHolder()
    yield holder
    holder.close()


@pytest.fixture(scope="session")
def postgres_url(_pg_holder: _ClusterHolder) -> str:
    """A PostgreSQL server URL (superuser or a role allowed to CREATE DATABASE)."""
    return os.environ.get(ENV_URL) or _pg_holder.get().url()


@pytest.fixture(scope="session")
def postgres_cluster(_pg_holder: _ClusterHolder) -> PostgresCluster:
    """The private cluster, which tests may stop and start (never an external server)."""
    return _pg_holder.get()


@pytest.fixture
def postgres_outage(postgres_cluster: PostgresCluster) -> Iterator[PostgresCluster]:
    """The private cluster for a test that stops it; running again when the test ends."""
    yield postgres_cluster
    if not postgres_cluster.running:
        postgres_cluster.start()


@pytest.fixture
def outage_db(postgres_outage: PostgresCluster) -> Iterator[tuple[PostgresCluster, str]]:
    """A fresh database on the private cluster, for a test that stops the cluster;
    running again and the database dropped when the test ends."""
    url = create_database(postgres_outage.url())
    yield postgres_outage, url
    if not postgres_outage.running:
        postgres_outage.start()
    drop_database(url)


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[str]:
    """A fresh, empty database; dropped afterwards."""
    url = create_database(postgres_url)
    yield url
    drop_database(url)
