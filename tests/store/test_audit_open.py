"""``depscreen audit`` opens an existing store only: it never creates what it should read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from departure_screening.errors import StoreUnavailable
from departure_screening.store.factory import StoreMissing, open_audit_store, open_store
from departure_screening.store.sqlbase import SchemaError
from support.store_helpers import keys, screen


def _depscreen(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPSCREEN_")}
    return subprocess.run(
        [sys.executable, "-m", "departure_screening", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "command",
    [
        ["audit", "verify"],
        ["audit", "purge", "--older-than", "30"],
        ["audit", "backup", "--out", "copy.db"],
    ],
    ids=["verify", "purge", "backup"],
)
def test_a_typo_in_the_store_path_exits_2_and_creates_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    done = _depscreen(tmp_path, *command, "--store", "sqlite:///./typo.db")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no store at ./typo.db" in done.stderr
    assert "audit chain ok" not in done.stdout
    assert list(tmp_path.iterdir()) == []


def test_a_typo_in_a_directory_creates_no_directory(tmp_path: Path) -> None:
    with pytest.raises(StoreMissing):
        open_audit_store(f"sqlite:///{tmp_path / 'no' / 'such.db'}")
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_no_store_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    for write in (False, True):
        with pytest.raises(SchemaError, match="holds no departure-screening store"):
            open_audit_store(f"sqlite:///{path}", write=write)
    assert path.stat().st_size == 0


def test_verify_opens_sqlite_read_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'depscreen.db'}"
    store = open_store(url)
    screen(store, keys("P1"))
    store.close()
    audit = open_audit_store(url)
    try:
        assert audit.verify_chain().ok
        with pytest.raises(StoreUnavailable, match="read-only"):
            screen(audit, keys("P2"))
    finally:
        audit.close()


def test_verify_on_an_empty_postgresql_database_creates_no_tables(pg_database: str) -> None:
    with pytest.raises(SchemaError, match="holds no departure-screening store"):
        open_audit_store(pg_database)
    with psycopg.connect(pg_database) as conn:
        row = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
    assert row == (None,)
