"""``depscreen rules backtest``: stored facts replayed through a candidate, the store untouched."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from departure_screening.api.convert import screening_from_pb
from departure_screening.domain import versus_recommendation
from departure_screening.screening.context import HistoryContext
from departure_screening.screening.engine import RuleEngine
from departure_screening.screening.evaluation import evaluate
from departure_screening.screening.ruleset import default_rules_dir, load_ruleset
from departure_screening.store.factory import open_audit_store
from departure_screening.v1 import screening_pb2 as pb
from support.builders import screening
from support.servers import ServerProcess

SHIPPED = default_rules_dir()
DESTINATIONS = ("KH", "SG", "MY", "LA", "JP", "TH")
PURPOSES = (pb.PURPOSE_TOURISM, pb.PURPOSE_BUSINESS, pb.PURPOSE_WORK)


def write_candidate(target: Path, shipped: Path) -> Path:
    """The shipped rules with tourist entry to a watch-list country weighing 15, not 5."""
    shutil.copytree(shipped, target)
    ruleset = target / "ruleset.yaml"
    ruleset.write_text(ruleset.read_text().replace('version: "1.0.0"', 'version: "9.0.0"'))
    indicators = target / "indicators.yaml"
    marker = "  - code: TOURIST_ENTRY_TO_WATCHLIST\n    weight: 5\n"
    text = indicators.read_text()
    assert marker in text
    indicators.write_text(text.replace(marker, marker.replace("weight: 5", "weight: 15")))
    return target


def travellers() -> list[pb.Screening]:
    return [
        screening(
            checkpoint=("CGK", "DPS")[i % 2],
            trip__destination_country=DESTINATIONS[i % len(DESTINATIONS)],
            trip__has_return_ticket=i % 4 != 0,
            trip__departure_date=f"2026-03-{1 + i % 20:02d}",
            declaration__purpose=PURPOSES[i % len(PURPOSES)],
        )
        for i in range(60)
    ]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A store of 60 live screenings, a third of them decided, from a real server."""
    root = tmp_path_factory.mktemp("backtest")
    store = f"sqlite:///{root}/history.db"
    sent = travellers()
    recorded: list[tuple[pb.Screening, pb.Assessment, int | None]] = []
    with ServerProcess(store=store) as server:
        stub = server.stub()
        for i, s in enumerate(sent):
            a = stub.Screen(pb.ScreenRequest(screening=s)).assessment
            decision = None
            if i % 3 == 0:
                decision = (pb.DECISION_CLEARED, pb.DECISION_POSTPONED)[i % 2]
                stub.RecordDecision(
                    pb.RecordDecisionRequest(
                        assessment_id=a.assessment_id, officer_id="officer-1", decision=decision
                    )
                )
            recorded.append((s, a, decision))
    return {"store": store, "root": root, "recorded": recorded}


def backtest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "departure_screening", "rules", "backtest", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def expected(recorded: list, candidate_dir: Path) -> dict[str, object]:  # type: ignore[type-arg]
    """What the candidate makes of each screening, evaluated from the request itself."""
    candidate = load_ruleset(candidate_dir)
    engine = RuleEngine(candidate)
    transitions: Counter[str] = Counter()
    agree_candidate = 0
    for s, a, decision in recorded:
        scored = evaluate(engine, screening_from_pb(s), HistoryContext())
        old = pb.RiskBand.Name(a.band).removeprefix("RISK_BAND_")
        new = scored.band.removeprefix("RISK_BAND_")
        if old != new:
            transitions[f"{old}->{new}"] += 1
        if decision is not None:
            same = versus_recommendation(pb.Decision.Name(decision), scored.recommended_action)
            agree_candidate += same == "same"
    engine.close()
    return {"transitions": dict(transitions), "agree_candidate": agree_candidate}


def test_the_backtest_matches_an_independent_evaluation_and_changes_nothing(
    history: dict[str, object], tmp_path: Path
) -> None:
    candidate = write_candidate(tmp_path / "candidate", SHIPPED)
    store_url = str(history["store"])
    before = open_audit_store(store_url)
    head = before.chain_head()
    before.close()
    out = tmp_path / "report"
    result = backtest("--store", store_url, "--rules", str(candidate), "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert json.loads((out / "report.json").read_text()) == report
    for name in ("report.html", "transitions.png", "indicators.png"):
        assert (out / name).stat().st_size > 0
    want = expected(history["recorded"], candidate)  # type: ignore[arg-type]
    assert report["candidate"] == load_ruleset(candidate).version
    assert report["screenings"] == 60 and report["skipped"] == 0
    assert report["transitions"] == want["transitions"]
    assert report["changed"] == sum(want["transitions"].values()) > 0  # type: ignore[attr-defined]
    assert sum(report["bands"]["recorded"].values()) == 60
    assert (
        report["indicators"]["TOURIST_ENTRY_TO_WATCHLIST"]["recorded"]
        == report["indicators"]["TOURIST_ENTRY_TO_WATCHLIST"]["candidate"]
        > 0
    )
    assert report["officers"]["decided"] == 20
    assert report["officers"]["agree_candidate"] == want["agree_candidate"]
    assert sum(c["screenings"] for c in report["by_checkpoint"].values()) == 60
    after = open_audit_store(store_url)
    assert after.chain_head() == head  # read only
    after.close()


def test_the_range_and_checkpoint_select_what_is_replayed(
    history: dict[str, object], tmp_path: Path
) -> None:
    recorded = history["recorded"]
    in_range = [
        s
        for s, _, _ in recorded  # type: ignore[attr-defined]
        if 5 <= s.trip.departure_date.day <= 9 and s.checkpoint == "DPS"
    ]
    result = backtest(
        "--store", str(history["store"]), "--rules", str(SHIPPED),
        "--out", str(tmp_path / "r"), "--since", "2026-03-05", "--until", "2026-03-09",
        "--checkpoint", "DPS", "--mode", "live", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["screenings"] == len(in_range) > 0
    assert report["changed"] == 0  # the same rules decide the same
    assert list(report["by_checkpoint"]) == ["DPS"]
    training = backtest(
        "--store", str(history["store"]), "--rules", str(SHIPPED),
        "--out", str(tmp_path / "t"), "--mode", "training", "--json",
    )  # fmt: skip
    assert json.loads(training.stdout)["screenings"] == 0
