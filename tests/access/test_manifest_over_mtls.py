"""``depscreen manifest screen`` as the ``manifest`` role over mutual TLS."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support.paxlst_builder import one, passenger

from .conftest import TlsServer

PEOPLE = [passenger(number=f"M200000{n}", booking="GRP001") for n in range(3)]


def screen_as(server: TlsServer, role: str, checkpoint: str, tmp_path: Path) -> tuple[int, str]:
    """Run the command as a subprocess with ``role``'s certificate for ``checkpoint``."""
    cert, key = server.device(role, checkpoint).write(tmp_path, f"{role}-{checkpoint}")
    file = tmp_path / "flight.edi"
    file.write_bytes(one(*PEOPLE))
    done = subprocess.run(
        [
            sys.executable, "-m", "departure_screening", "manifest", "screen", str(file),
            "--checkpoint", "CGK", "--target", server.target, "--tls-ca", str(server.pki.client_ca),
            "--tls-cert", str(cert), "--tls-key", str(key), "--out", str(tmp_path / role),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def test_the_manifest_role_screens_its_own_checkpoint(
    tls_server: TlsServer, tmp_path: Path
) -> None:
    code, output = screen_as(tls_server, "manifest", "CGK", tmp_path)
    assert code == 0, output
    doc = json.loads((tmp_path / "manifest" / "GA820-2026-03-12" / "headsup.json").read_text())
    assert doc["screened"] == 3 and doc["bookings"][0]["booking_reference"] == "GRP001"
    assert (
        tls_server.sample(
            "depscreen_preliminary_screenings_total", checkpoint="CGK", mode="live", band="low"
        )
        >= 3
    )


def test_another_checkpoints_manifest_device_is_refused(
    tls_server: TlsServer, tmp_path: Path
) -> None:
    before = tls_server.sample(
        "depscreen_preliminary_screenings_total", checkpoint="CGK", mode="live", band="low"
    )
    code, output = screen_as(tls_server, "manifest", "SUB", tmp_path)
    assert code == 1
    assert "PERMISSION_DENIED" in output
    assert not (tmp_path / "manifest" / "GA820-2026-03-12").exists()
    after = tls_server.sample(
        "depscreen_preliminary_screenings_total", checkpoint="CGK", mode="live", band="low"
    )
    assert after == before


def test_a_supervisor_certificate_cannot_send_a_manifest(
    tls_server: TlsServer, tmp_path: Path
) -> None:
    code, output = screen_as(tls_server, "supervisor", "CGK", tmp_path)
    assert code == 1 and "PERMISSION_DENIED" in output
