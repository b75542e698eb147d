"""Stores for the contract tests: memory, SQLite and PostgreSQL, one fresh store each.

The PostgreSQL fixtures (``postgres_url``, ``pg_database``, ...) are in tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from departure_screening.store.base import Store
from support.store_helpers import StoreKit


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
