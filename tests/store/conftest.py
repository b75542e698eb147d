"""Stores for the contract tests: memory, SQLite and PostgreSQL, one fresh store each.

PostgreSQL comes from ``DEPSCREEN_TEST_POSTGRES_URL`` when set (a server the tests may
create databases on), else from a private throwaway cluster started here. Missing
PostgreSQL binaries fail the tests that need them: the shared store is not optional.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from departure_screening.store.base import Store
from support.postgres import PostgresCluster, PostgresUnavailable, create_database, drop_database
from support.store_helpers import StoreKit

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
def pg_database(postgres_url: str) -> Iterator[str]:
    """A fresh, empty database; dropped afterwards."""
    url = create_database(postgres_url)
    yield url
    drop_database(url)


def _kit(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> StoreKit:
    if kind == "memory":
        return StoreKit(kind, "memory:")
    if kind == "sqlite":
        return StoreKit(kind, f"sqlite:///{tmp_path / 'depscreen.db'}")
    db_url: str = request.getfixturevalue("pg_database")
    return StoreKit(kind, db_url)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def kit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreKit]:
    k = _kit(request.param, tmp_path, request)
    yield k
    k.close_all()


@pytest.fixture(params=["sqlite", "postgresql"])
def durable_kit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreKit]:
    k = _kit(request.param, tmp_path, request)
    yield k
    k.close_all()


@pytest.fixture
def store(kit: StoreKit) -> Store:
    return kit.open()
