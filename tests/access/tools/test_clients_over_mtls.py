"""The shipped clients against the real screening servicer behind mutual TLS."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from departure_screening.access.client import load_client_credentials
from departure_screening.access.tokens_issue import issue_token, load_signing_key
from departure_screening.exercise.generate import generate
from departure_screening.exercise.run import EXERCISE_OFFICER, run_exercise
from departure_screening.exercise.scenario import parse_scenario
from departure_screening.serving.app import App, build_app
from departure_screening.serving.config import ServeConfig
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc
from exercise.exercise_helpers import scenario_text, small_raw
from prometheus_client import CollectorRegistry

from access.tools.tls_server import TlsServer, tls_server

OFFICER = "instructor-3"


@pytest.fixture
def app() -> Iterator[App]:
    config = ServeConfig(listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", store="memory:")
    built = build_app(config, CollectorRegistry())
    yield built
    built.close()


@pytest.fixture
def service(pki: Path, app: App) -> Iterator[TlsServer]:
    def register(server: grpc.Server) -> None:
        pb_grpc.add_ScreeningServiceServicer_to_server(app.servicer, server)

    with tls_server(pki, register) as server:
        yield server


@pytest.fixture
def token(pki: Path) -> str:
    key = load_signing_key((pki / "officer-signing.key").read_bytes())
    return issue_token(key, officer=OFFICER, ttl_seconds=600)


def _decisions(service: TlsServer) -> list[pb.RecordDecisionRequest]:
    return [r for r in service.seen.requests if isinstance(r, pb.RecordDecisionRequest)]


def test_an_exercise_runs_over_mtls_and_decides_as_the_tokens_officer(
    pki: Path, service: TlsServer, token: str
) -> None:
    scenario = parse_scenario(scenario_text(small_raw()), source="small-test.yaml")
    travellers = generate(scenario, 7)
    credentials = load_client_credentials(
        tls_ca=str(pki / "ca.pem"),
        tls_cert=str(pki / "instructor.pem"),
        tls_key=str(pki / "instructor.key"),
        token=token,
    )
    result = run_exercise(travellers, service.target, progress=False, credentials=credentials)
    assert len(result.results) == len(travellers)
    assert all(r.observed is not None for r in result.results)
    methods = {method for method, _ in service.seen.calls}
    assert "/departure_screening.v1.ScreeningService/ScreenManifest" in methods
    assert all(meta.get("authorization") == f"Bearer {token}" for _, meta in service.seen.calls)
    decisions = _decisions(service)
    assert decisions, "the scenario has scripted decisions"
    assert {d.officer_id for d in decisions} == {OFFICER}


def test_without_a_token_decisions_keep_the_exercise_officer(pki: Path, service: TlsServer) -> None:
    scenario = parse_scenario(scenario_text(small_raw()), source="small-test.yaml")
    credentials = load_client_credentials(
        tls_ca=str(pki / "ca.pem"),
        tls_cert=str(pki / "instructor.pem"),
        tls_key=str(pki / "instructor.key"),
    )
    run_exercise(generate(scenario, 7), service.target, progress=False, credentials=credentials)
    assert {d.officer_id for d in _decisions(service)} == {EXERCISE_OFFICER}
    assert not any("authorization" in meta for _, meta in service.seen.calls)


def test_the_drill_command_over_mtls_with_a_token_file(
    pki: Path, service: TlsServer, token: str, tmp_path: Path
) -> None:
    scenario = tmp_path / "small.yaml"
    scenario.write_text(scenario_text(small_raw()))
    (tmp_path / "token").write_text(token)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "departure_screening",
            "exercise",
            "drill",
            "--scenario",
            str(scenario),
            "--travellers",
            "2",
            "--target",
            service.target,
            "--tls-ca",
            str(pki / "ca.pem"),
            "--tls-cert",
            str(pki / "instructor.pem"),
            "--tls-key",
            str(pki / "instructor.key"),
            "--token",
            f"@{tmp_path / 'token'}",
            "--trainee",
            "T01",
            "--out",
            str(tmp_path / "debrief"),
        ],
        input="1\n2\n",
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Ground truth:") == 2
    screens = [m for m, _ in service.seen.calls if m.endswith("/Screen")]
    assert screens
    assert all(meta.get("authorization") == f"Bearer {token}" for _, meta in service.seen.calls)
    assert {d.officer_id for d in _decisions(service)} == {OFFICER}


def test_a_plaintext_client_cannot_reach_a_tls_service(service: TlsServer) -> None:
    from departure_screening.exercise.run import ExerciseError, connect

    with pytest.raises(ExerciseError, match="cannot reach"):
        connect(service.target, timeout=2)
