"""An instructor's drill against the service with access control: training only, over mTLS."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from departure_screening.v1 import screening_pb2 as pb
from exercise.exercise_helpers import scenario_text, small_raw
from support import builders
from support.pki import Pki

from .conftest import TlsServer, bearer, start_tls_server


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TlsServer, Pki]]:
    (tmp_path / "pki").mkdir()
    pki = Pki.create(tmp_path / "pki")
    server = start_tls_server(pki)
    yield server, pki
    server.close()


def test_an_instructor_runs_a_drill_and_gets_the_debrief(
    served: tuple[TlsServer, Pki], tmp_path: Path
) -> None:
    server, pki = served
    cert, key = server.device("instructor", None).write(tmp_path, "instructor")
    token = tmp_path / "token"
    token.write_text(pki.issuer.token(officer="instr-1"))
    scenario = tmp_path / "small.yaml"
    scenario.write_text(scenario_text(small_raw()))
    done = subprocess.run(
        [
            sys.executable, "-m", "departure_screening", "exercise", "drill",
            "--scenario", str(scenario), "--travellers", "2", "--target", server.target,
            "--tls-ca", str(pki.client_ca), "--tls-cert", str(cert), "--tls-key", str(key),
            "--token", f"@{token}", "--trainee", "T07", "--out", str(tmp_path / "debrief"),
        ],
        input="1\n2\n",
        capture_output=True,
        text=True,
        timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    debrief = json.loads((tmp_path / "debrief" / "debrief.json").read_text())
    assert debrief["trainee"] == "T07" and len(debrief["decisions"]) == 2
    screened = server.sample(
        "depscreen_screenings_total", checkpoint="CGK", mode="training", band="low"
    ) + server.sample("depscreen_screenings_total", checkpoint="CGK", mode="training", band="high")
    assert screened >= 2  # the scenario's travellers, in training mode


def test_the_instructor_certificate_cannot_screen_live(served: tuple[TlsServer, Pki]) -> None:
    server, pki = served
    stub = server.as_role("instructor")
    live = builders.screening(mode=pb.MODE_LIVE)
    with pytest.raises(grpc.RpcError) as refused:
        stub.Screen(
            pb.ScreenRequest(screening=live), metadata=bearer(pki.issuer.token()), timeout=10
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    training = builders.screening(mode=pb.MODE_TRAINING)
    assert stub.Screen(pb.ScreenRequest(screening=training), timeout=10).assessment.assessment_id
