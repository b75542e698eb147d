"""deploy/systemd/depscreen.service: verified by systemd itself and rated by its sandboxing."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from support.podman import ROOT, require

UNIT = ROOT / "deploy" / "systemd" / "depscreen.service"
MAX_EXPOSURE = 2.0


def settings() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def test_verify_prints_nothing(tmp_path: Path) -> None:
    """In a root of its own, where the installed command exists (it is not on this host)."""
    require("systemd-analyze")
    command = tmp_path / "opt" / "depscreen" / "bin" / "depscreen"
    command.parent.mkdir(parents=True)
    command.write_text("#!/bin/sh\n")
    command.chmod(0o755)
    units = tmp_path / "usr" / "lib" / "systemd" / "system"
    shutil.copytree(Path("/lib/systemd/system"), units, symlinks=True)
    (tmp_path / "etc" / "systemd" / "system").mkdir(parents=True)
    shutil.copy(UNIT, tmp_path / "etc" / "systemd" / "system" / UNIT.name)
    done = subprocess.run(
        ["systemd-analyze", "verify", f"--root={tmp_path}", UNIT.name],
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_security_exposure_is_at_most_2() -> None:
    require("systemd-analyze")
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout + done.stderr)
    assert match, done.stdout + done.stderr
    print(f"exposure {match.group(1)}")
    assert float(match.group(1)) <= MAX_EXPOSURE, done.stdout


def test_the_unit_says_what_the_server_does() -> None:
    s = settings()
    assert s["Type"] == ["notify"]
    assert s["DynamicUser"] == ["yes"]
    assert s["StateDirectory"] == ["depscreen"]
    assert {c.split(":")[0] for c in s["LoadCredential"]} == {"pseudonym-key", "tls-key"}
    assert "DEPSCREEN_KEY_FILE=%d/pseudonym-key" in s["Environment"]
    # systemd's stop timeout outlasts the server's drain and grace (5 s each by default).
    assert int(s["TimeoutStopSec"][0].rstrip("s")) > 10
