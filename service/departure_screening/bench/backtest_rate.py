"""``depscreen bench --backtest``: how fast ``rules backtest`` replays a store.

A SQLite store is filled through the screening pipeline (facts and all, as the
service keeps them) with assessments of distinct travellers, a tenth of them
decided, and ``depscreen rules backtest`` is then run on it as an analyst runs
it: a process of its own, reading the store, writing the report.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from departure_screening.api.convert import screening_from_pb
from departure_screening.bench.phases import Traffic
from departure_screening.domain import DecisionRecord
from departure_screening.pipeline.screener import Screener
from departure_screening.privacy.pseudonym import Pseudonymizer
from departure_screening.screening.ruleset import default_rules_dir, load_ruleset
from departure_screening.store.factory import open_store

# The figure lifecycle.md asks for: 25,000 stored assessments replayed in under 30 s.
BACKTEST_ASSESSMENTS = 25_000
BACKTEST_TARGET_SECONDS = 30.0
FILL_BATCH = 500
# The candidate: tourist entry to a watch-list country weighs 15 instead of 5.
_MARKER = "  - code: TOURIST_ENTRY_TO_WATCHLIST\n    weight: 5\n"


def write_candidate(target: Path) -> Path:
    shutil.copytree(default_rules_dir(), target)
    ruleset = target / "ruleset.yaml"
    ruleset.write_text(ruleset.read_text().replace('version: "1.0.0"', 'version: "1.0.1-bench"'))
    indicators = target / "indicators.yaml"
    indicators.write_text(
        indicators.read_text().replace(_MARKER, _MARKER.replace("weight: 5", "weight: 15"))
    )
    return target


def fill_store(path: Path, n: int, advance: Callable[[int], None]) -> None:
    store = open_store(f"sqlite:///{path}")
    screener = Screener(
        load_ruleset(default_rules_dir()), store, Pseudonymizer(secrets.token_bytes(32))
    )
    traffic = Traffic("backtest")
    try:
        done = 0
        while done < n:
            items = [screening_from_pb(traffic.next()) for _ in range(min(FILL_BATCH, n - done))]
            for i, outcome in enumerate(screener.screen_many(items)):
                if (done + i) % 10 == 0 and not isinstance(outcome, Exception):
                    a = outcome.assessment
                    screener.record_decision(
                        DecisionRecord(
                            a.assessment_id, "DECISION_CLEARED", "officer-1", "", a.assessed_at
                        )
                    )
            done += len(items)
            advance(len(items))
    finally:
        screener.close()
        store.close()


def backtest_rate(n: int, advance: Callable[[int], None]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="depscreen-backtest-") as tmp:
        root = Path(tmp)
        fill_store(root / "store.db", n, advance)
        candidate = write_candidate(root / "candidate")
        started = time.perf_counter()
        done = subprocess.run(
            [
                *(sys.executable, "-m", "departure_screening", "rules", "backtest"),
                *("--store", f"sqlite:///{root / 'store.db'}", "--rules", str(candidate)),
                *("--out", str(root / "report")),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"rules backtest failed: {done.stderr.strip()}")
    return {
        "assessments": n,
        "seconds": round(seconds, 2),
        "assessments_per_s": round(n / seconds, 1),
        "target_seconds": BACKTEST_TARGET_SECONDS * n / BACKTEST_ASSESSMENTS,
        "met": seconds <= BACKTEST_TARGET_SECONDS * n / BACKTEST_ASSESSMENTS,
    }
