"""Counters and supervisors, over mTLS, never see what the shadow ruleset said."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from departure_screening.access.control import AccessSettings
from departure_screening.screening.ruleset import default_rules_dir, load_ruleset
from departure_screening.serving.app import build_app
from departure_screening.serving.config import ServeConfig
from departure_screening.serving.server import serve
from departure_screening.v1 import screening_pb2 as pb
from support import builders
from support.pki import Pki
from support.waiting import wait_for

from .conftest import TlsServer

LIVE_SCORE, SHADOW_SCORE = 25, 45  # a tourist to Cambodia: tourist entry 5, in the shadow 25


def shadow_rules(target: Path) -> Path:
    shutil.copytree(default_rules_dir(), target)
    ruleset = target / "ruleset.yaml"
    ruleset.write_text(ruleset.read_text().replace('version: "1.0.0"', 'version: "7.0.0"'))
    indicators = target / "indicators.yaml"
    marker = "  - code: TOURIST_ENTRY_TO_WATCHLIST\n    weight: 5\n"
    assert marker in indicators.read_text()
    indicators.write_text(
        indicators.read_text().replace(marker, marker.replace("weight: 5", "weight: 25"))
    )
    shutil.rmtree(target / "tests")
    return target


@pytest.fixture
def server(fresh_pki: Pki, tmp_path: Path) -> Iterator[TlsServer]:
    access = AccessSettings(**{**fresh_pki.serve_flags(), "probe_listen": "127.0.0.1:0"})
    app = build_app(
        ServeConfig(
            listen="127.0.0.1:0",
            metrics_listen="127.0.0.1:0",
            store=f"sqlite:///{tmp_path}/s.db",
            access=access,
            shadow_rules=shadow_rules(tmp_path / "shadow"),
        )
    )
    running = TlsServer(serve(app), fresh_pki)
    yield running
    running.close()


def test_counter_and_supervisor_get_the_served_answer_only(
    server: TlsServer, tmp_path: Path
) -> None:
    shadow_version = load_ruleset(tmp_path / "shadow").version
    served_version = load_ruleset(default_rules_dir()).version
    counter = server.as_role("counter@CGK")
    supervisor = server.as_role("supervisor@CGK")
    s = builders.screening(trip__destination_country="KH")
    screened = counter.Screen(pb.ScreenRequest(screening=s), timeout=10)
    manifest = list(
        counter.ScreenManifest(
            iter(
                [
                    pb.ScreenManifestRequest(
                        screening=builders.screening(trip__destination_country="KH")
                    )
                ]
            ),
            timeout=10,
        )
    )
    # The shadow has judged both (and stored its result) before they are read back.
    wait_for(
        lambda: (
            server.sample(
                "depscreen_shadow_screenings_total",
                checkpoint="CGK",
                mode="live",
                band="low",
                shadow_band="elevated",
            )
            == 2
        ),
        timeout=20,
    )
    answers = [screened, *manifest]
    answers += [
        stub.GetAssessment(
            pb.GetAssessmentRequest(assessment_id=screened.assessment.assessment_id), timeout=10
        )
        for stub in (counter, supervisor)
    ]
    answers += [
        stub.ListIndicators(pb.ListIndicatorsRequest(), timeout=10)
        for stub in (counter, supervisor)
    ]
    for answer in answers:
        wire = answer.SerializeToString()
        assert shadow_version.encode() not in wire
        assert b"7.0.0" not in wire
    for answer in answers[:4]:
        a = answer.assessment
        assert (a.score, a.band, a.ruleset_version) == (
            LIVE_SCORE,
            pb.RISK_BAND_LOW,
            served_version,
        )
