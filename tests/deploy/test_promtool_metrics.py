"""``promtool check metrics`` on what a real server exposes after real traffic."""

from __future__ import annotations

import shutil
import subprocess

from conftest import InProcessServer
from departure_screening.v1 import screening_pb2 as pb
from support.builders import screening


def test_exposed_metrics_pass_promtool(grpc_server: InProcessServer) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool not found: install the Debian package 'prometheus'"
    stub = grpc_server.stub
    a = stub.Screen(
        pb.ScreenRequest(screening=screening(trip__destination_country="KH"))
    ).assessment
    stub.Screen(pb.ScreenRequest(screening=screening(mode=pb.MODE_TRAINING)))
    stub.RecordDecision(
        pb.RecordDecisionRequest(
            assessment_id=a.assessment_id, officer_id="o1", decision=pb.DECISION_CLEARED
        )
    )
    list(stub.ScreenManifest(iter([pb.ScreenManifestRequest(screening=screening())])))
    early = screening(stage=pb.STAGE_PRELIMINARY)
    early.ClearField("declaration")
    list(stub.ScreenManifest(iter([pb.ScreenManifestRequest(screening=early)])))
    text = grpc_server.metrics_text()
    for family in (
        "depscreen_screenings_total",
        "depscreen_preliminary_screenings_total",
        "depscreen_indicator_hits_total",
        "depscreen_decisions_total",
        "depscreen_group_alerts_total",
        "depscreen_screening_duration_seconds_bucket",
        "depscreen_rpc_requests_total",
        "depscreen_ruleset_info",
        "process_resident_memory_bytes",
    ):
        assert family in text, family
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
