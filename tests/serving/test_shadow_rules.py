"""--shadow-rules: each screening judged again by a candidate after its answer, never in it."""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from departure_screening.screening.ruleset import default_rules_dir, load_ruleset
from departure_screening.store.base import ReplayQuery
from departure_screening.store.factory import open_audit_store
from departure_screening.v1 import screening_pb2 as pb
from support.builders import screening
from support.rpc import sample_value
from support.servers import ServerProcess
from support.tamper import tamper
from support.waiting import wait_for

LIVE_SCORE, SHADOW_SCORE = 25, 35  # a tourist to Cambodia: tourist entry weighs 5, then 15
BAND = {pb.RISK_BAND_LOW: "LOW", pb.RISK_BAND_ELEVATED: "ELEVATED", pb.RISK_BAND_HIGH: "HIGH"}


def write_shadow(target: Path, version: str = "5.0.0") -> Path:
    """The shipped rules with tourist entry to a watch-list country weighing 15, not 5."""
    shutil.copytree(default_rules_dir(), target)
    ruleset = target / "ruleset.yaml"
    ruleset.write_text(ruleset.read_text().replace('version: "1.0.0"', f'version: "{version}"'))
    indicators = target / "indicators.yaml"
    marker = "  - code: TOURIST_ENTRY_TO_WATCHLIST\n    weight: 5\n"
    assert marker in indicators.read_text()
    indicators.write_text(
        indicators.read_text().replace(marker, marker.replace("weight: 5", "weight: 15"))
    )
    shutil.rmtree(target / "tests")  # the shipped table tests expect 5
    return target


@pytest.fixture
def shadow_rules(tmp_path: Path) -> Path:
    return write_shadow(tmp_path / "shadow")


def shadowed(server: ServerProcess, band: str, shadow_band: str) -> float:
    return sample_value(
        server.metrics_text(),
        "depscreen_shadow_screenings_total",
        {"band": band, "shadow_band": shadow_band},
    )


def travellers(n: int) -> list[pb.Screening]:
    """Tourists to Cambodia (the shadow raises them) and to Singapore (nothing fires)."""
    return [
        screening(
            trip__destination_country=("KH", "SG")[i % 2],
            checkpoint=("CGK", "DPS")[i % 3 == 0],
            mode=pb.MODE_TRAINING if i == 5 else pb.MODE_LIVE,
        )
        for i in range(n)
    ]


def expected_live(s: pb.Screening) -> tuple[int, int]:
    return (LIVE_SCORE if s.trip.destination_country == "KH" else 0), pb.RISK_BAND_LOW


def shadow_report(store: str, out: Path) -> dict[str, object]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "departure_screening",
            "rules",
            "shadow-report",
            "--store",
            store,
            "--out",
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (out / "report.html").is_file() and (out / "transitions.png").is_file()
    report: dict[str, object] = json.loads(done.stdout)
    assert json.loads((out / "report.json").read_text()) == report
    return report


def test_shadow_results_are_stored_counted_and_reported_but_never_answered(
    tmp_path: Path, shadow_rules: Path
) -> None:
    store = f"sqlite:///{tmp_path}/s.db"
    live_version = load_ruleset(default_rules_dir()).version
    shadow_version = load_ruleset(shadow_rules).version
    sent = travellers(12)
    with ServerProcess(store=store, extra_args=["--shadow-rules", str(shadow_rules)]) as server:
        stub = server.stub()
        answers = [stub.Screen(pb.ScreenRequest(screening=s)).assessment for s in sent]
        for s, a in zip(sent, answers, strict=True):
            assert (a.score, a.band) == expected_live(s)
            assert a.ruleset_version == live_version
        for s, a in zip(sent[:4], answers[:4], strict=True):
            # Cambodia: interviewed, as the shadow would have had it; Singapore: cleared.
            kh_trip = s.trip.destination_country == "KH"
            decision = pb.DECISION_CLEARED_AFTER_INTERVIEW if kh_trip else pb.DECISION_CLEARED
            stub.RecordDecision(
                pb.RecordDecisionRequest(
                    assessment_id=a.assessment_id, officer_id="officer-1", decision=decision
                )
            )
        kh = sum(s.trip.destination_country == "KH" for s in sent)
        wait_for(lambda: shadowed(server, "low", "elevated") == kh, timeout=20)
        assert shadowed(server, "low", "low") == len(sent) - kh
        assert shadowed(server, "elevated", "elevated") == 0
        # The served version alone is shown; the shadow's reload is counted apart.
        text = server.metrics_text()
        assert shadow_version not in text
        assert sample_value(text, "depscreen_config_reloads_total", {"file": "shadow_rules"}) == 0
        # Read back, an assessment is what was served, and nothing of the shadow.
        got = stub.GetAssessment(pb.GetAssessmentRequest(assessment_id=answers[0].assessment_id))
        assert got.assessment == answers[0]
        assert shadow_version.encode() not in got.SerializeToString()

    audit = open_audit_store(store)
    try:
        assert audit.verify_chain().ok
        records = list(audit.shadow_records(ReplayQuery()))
    finally:
        audit.close()
    assert len(records) == len(sent)
    for record in records:
        assert record.shadow is not None
        assert record.shadow.ruleset_version == shadow_version
        kh_trip = (
            record.assessment.facts is not None
            and record.assessment.facts["destination_country"] == "KH"
        )
        assert record.shadow.score == (SHADOW_SCORE if kh_trip else 0)

    # A shadow result is covered by the audit chain like the assessment beside it.
    tamper(store, "UPDATE shadow_results SET band = 'RISK_BAND_LOW' WHERE band <> 'RISK_BAND_LOW'")
    audit = open_audit_store(store)
    try:
        broken = audit.verify_chain()
    finally:
        audit.close()
    assert broken.broken is not None and broken.broken.table == "shadow_results"
    restore = "UPDATE shadow_results SET band = 'RISK_BAND_ELEVATED' WHERE body LIKE ?"
    tamper(store, restore, ('%"band":"RISK_BAND_ELEVATED"%',))

    # The report's figures, worked out here from what was sent and decided.
    report = shadow_report(store, tmp_path / "report")
    # Served: proceed for all; the shadow: an interview for Cambodia. Singapore's
    # clearances agree with both, Cambodia's interviews with the shadow only.
    first_sg = sum(s.trip.destination_country == "SG" for s in sent[:4])
    by_checkpoint: dict[str, Counter[str]] = {}
    for s in sent:
        c = by_checkpoint.setdefault(s.checkpoint, Counter())
        c["screenings"] += 1
        c["changed"] += s.trip.destination_country == "KH"
    assert report == {
        "candidate": shadow_version,
        "screenings": len(sent),
        "skipped": 0,
        "changed": kh,
        "transitions": {"LOW->ELEVATED": kh},
        "bands": {
            "recorded": {"LOW": len(sent), "ELEVATED": 0, "HIGH": 0},
            "candidate": {"LOW": len(sent) - kh, "ELEVATED": kh, "HIGH": 0},
        },
        "indicators": {
            "DESTINATION_WATCHLIST": {"recorded": kh, "candidate": kh},
            "TOURIST_ENTRY_TO_WATCHLIST": {"recorded": kh, "candidate": kh},
        },
        "by_checkpoint": {
            cp: {"screenings": c["screenings"], "changed": c["changed"]}
            for cp, c in sorted(by_checkpoint.items())
        },
        "officers": {"decided": 4, "agree_recorded": first_sg, "agree_candidate": 4},
    }


def test_a_stuck_shadow_never_holds_up_the_answers_on_postgresql(
    pg_database: str, shadow_rules: Path, tmp_path: Path
) -> None:
    """The shadow's table locked away: answers come as ever; the shadow catches up after."""
    sent = travellers(10)
    with ServerProcess(
        store=pg_database,
        extra_args=["--shadow-rules", str(shadow_rules)],
        env={"DEPSCREEN_PSEUDONYM_KEY": secrets.token_hex(32)},
    ) as server:
        stub = server.stub()
        with psycopg.connect(pg_database) as lock:
            lock.execute("LOCK TABLE shadow_results IN ACCESS EXCLUSIVE MODE")
            answers = [
                stub.Screen(pb.ScreenRequest(screening=s), timeout=10).assessment for s in sent
            ]
            # Every answer is in, none of them shadowed yet: none waited for the shadow.
            assert sum(shadowed(server, "low", b) for b in ("low", "elevated")) == 0
            lock.rollback()
        for s, a in zip(sent, answers, strict=True):
            assert (a.score, a.band) == expected_live(s)
        wait_for(lambda: sum(shadowed(server, "low", b) for b in ("low", "elevated"))
                 == len(sent), timeout=30)  # fmt: skip
    report = shadow_report(pg_database, tmp_path / "report")
    kh = sum(s.trip.destination_country == "KH" for s in sent)
    assert (report["screenings"], report["changed"]) == (len(sent), kh)
    assert report["transitions"] == {"LOW->ELEVATED": kh}


def test_a_failing_shadow_is_counted_and_the_answer_unchanged(
    tmp_path: Path, shadow_rules: Path
) -> None:
    db = tmp_path / "s.db"
    with ServerProcess(
        store=f"sqlite:///{db}",
        extra_args=["--shadow-rules", str(shadow_rules), "--rules-poll", "0.2"],
    ) as server:
        stub = server.stub()
        with sqlite3.connect(db) as conn:  # the shadow's store fails from now on
            conn.execute("DROP TABLE shadow_results")
        sent = travellers(6)
        answers = [stub.Screen(pb.ScreenRequest(screening=s)).assessment for s in sent]
        for s, a in zip(sent, answers, strict=True):
            assert (a.score, a.band) == expected_live(s)
        wait_for(lambda: sample_value(server.metrics_text(), "depscreen_shadow_failures_total",
                                      {"stage": "store"}) == len(sent), timeout=20)  # fmt: skip
        assert "shadow result(s) not stored" in server.log()
        # A broken shadow ruleset is refused like a served one, and changes nothing served.
        (shadow_rules / "indicators.yaml").write_text("indicators: [{code: lowercase}]\n")
        wait_for(lambda: sample_value(server.metrics_text(), "depscreen_config_reloads_total",
                                      {"file": "shadow_rules", "result": "refused"}) == 1,
                 timeout=20)  # fmt: skip
        assert "shadow ruleset reload refused" in server.log()
        again = stub.Screen(pb.ScreenRequest(screening=screening(trip__destination_country="KH")))
        assert (again.assessment.score, again.assessment.band) == (LIVE_SCORE, pb.RISK_BAND_LOW)
        rules_reloads = {"file": "rules", "result": "refused"}
        assert sample_value(server.metrics_text(), "depscreen_config_reloads_total",
                            rules_reloads) == 0  # fmt: skip
