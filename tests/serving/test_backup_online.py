"""``depscreen audit backup`` while a server screens and records decisions.

The copy is a snapshot: its chain verifies, and a server started on it answers for
every assessment and decision acknowledged before the backup began.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.acknowledged import assert_served, under_load
from support.servers import ServerProcess

# Records acknowledged before the backup starts, and after it ends.
BEFORE = 200
AFTER = 20


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/depscreen.db"
        return
    yield request.getfixturevalue("pg_database")


def tool_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DEPSCREEN_")}


def depscreen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "departure_screening", *args],
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_backup_under_load_verifies_and_serves_every_earlier_record(
    store_url: str, tmp_path: Path
) -> None:
    key = {"DEPSCREEN_PSEUDONYM_KEY": secrets.token_hex(32)}
    backup = tmp_path / "backup" / "depscreen-backup.db"
    backup.parent.mkdir()
    with ServerProcess(store=store_url, env=key) as server, under_load(server) as acked:
        acked.wait_for(BEFORE)
        screenings, decisions = acked.copy()
        running = subprocess.Popen(
            [
                *(sys.executable, "-m", "departure_screening", "audit", "backup"),
                *("--store", store_url, "--out", str(backup)),
            ],
            env=tool_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        at_start = acked.count()
        out, err = running.communicate(timeout=300)
        during = acked.count() - at_start
        # The server goes on past the backup, so the copy ends mid-stream.
        acked.wait_for(acked.count() + AFTER)
    assert running.returncode == 0, out + err
    assert "audit chain ok" in out
    assert during > 0, "nothing was acknowledged while the backup ran"

    verified = depscreen("audit", "verify", "--store", f"sqlite:///{backup}")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    links = int(verified.stdout.split("audit chain ok: ")[1].split(" links")[0])
    assert links >= len(screenings) + len(decisions)
    assert links < acked.count(), "the copy holds records acknowledged after it was taken"

    # Pseudonymised as in the store: no passport number in clear anywhere in the file.
    content = backup.read_bytes()
    for passport, _ in screenings:
        assert passport.encode() not in content

    with ServerProcess(store=f"sqlite:///{backup}", env=key) as restored:
        assert_served(restored.stub(), screenings, decisions)
