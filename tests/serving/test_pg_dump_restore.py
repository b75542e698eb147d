"""The README's pg_dump/pg_restore procedure, run as written against a store under load.

The restored database verifies with ``audit verify`` (a step of the procedure), and a
server pointed at it answers for every record acknowledged before the dump began.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

from support.acknowledged import assert_served, under_load
from support.postgres import PostgresCluster, drop_database, with_dbname
from support.servers import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- pg-backup-procedure:"
BEFORE = 200


def readme_procedure() -> str:
    """The shell block right after the marker in the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text[text.index(MARKER) :]
    block = re.search(r"```sh\n(.*?)```", after, re.DOTALL)
    assert block is not None, "no sh block after the procedure's marker"
    return block.group(1)


def test_the_readme_procedure_restores_every_acknowledged_record(
    pg_database: str, postgres_cluster: PostgresCluster, tmp_path: Path
) -> None:
    procedure = readme_procedure()
    assert "pg_dump --format=custom" in procedure and "pg_restore" in procedure
    key = {"DEPSCREEN_PSEUDONYM_KEY": secrets.token_hex(32)}
    restored_db = f"depscreen_restored_{uuid.uuid4().hex[:12]}"
    restored_url = with_dbname(pg_database, restored_db)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPSCREEN_")}
    env |= {
        # The client tools of the cluster's own version, and this environment's depscreen.
        "PATH": os.pathsep.join(
            (str(postgres_cluster.bindir), str(Path(sys.executable).parent), env["PATH"])
        ),
        "DEPSCREEN_STORE": pg_database,
        "RESTORED_DB": restored_db,
        "RESTORED_URL": restored_url,
        "DUMP": str(tmp_path / "depscreen.dump"),
    }
    try:
        with ServerProcess(store=pg_database, env=key) as server, under_load(server) as acked:
            acked.wait_for(BEFORE)
            screenings, decisions = acked.copy()
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", procedure],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            acked.wait_for(acked.count() + 20)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "audit chain ok" in done.stdout

        with ServerProcess(store=restored_url, env=key) as restored:
            assert_served(restored.stub(), screenings, decisions)
    finally:
        drop_database(restored_url)
