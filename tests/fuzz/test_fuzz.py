"""Each fuzz harness in CI: over every committed seed, then a bounded atheris run.

The bounded run is libFuzzer proper (coverage-guided, mutating the seeds) in a
subprocess, with its time-per-input and RSS guards; it passes only if it exits
cleanly and writes no crash, timeout or out-of-memory file. ``make fuzz`` runs the
same harnesses for as long as asked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from . import (
    bundle_reader,
    device_certificate,
    harness,
    officer_token,
    request_path,
    ruleset_loader,
)

ROOT = Path(__file__).resolve().parents[2]
# Inputs per harness in CI (a few seconds for the request path; the ruleset loader
# parses kilobytes of YAML per input, so fewer, and so does a bundle that reads), each
# run also capped in time.
RUNS = {
    request_path.NAME: 5000,
    ruleset_loader.NAME: 300,
    bundle_reader.NAME: 300,
    officer_token.NAME: 3000,
    device_certificate.NAME: 5000,
}
MAX_SECONDS = 40
SEED = os.environ.get("FUZZ_SEED", "1")  # fixed: a CI failure reproduces

HARNESSES = [request_path, ruleset_loader, bundle_reader, officer_token, device_certificate]


@pytest.mark.parametrize("module", HARNESSES, ids=lambda m: m.NAME)
def test_every_seed_passes_quickly(module: ModuleType) -> None:
    files = harness.seeds(module.NAME)
    assert len(files) >= 8
    for path in files:
        harness.timed(module.TestOneInput, path.read_bytes(), harness.SEED_SECONDS)


def test_the_request_seeds_reach_the_store() -> None:
    """The corpus holds screenings that are accepted, not only refusals."""
    from departure_screening.errors import ScreeningError
    from departure_screening.v1 import screening_pb2 as pb

    app = request_path._apps.current()
    accepted = 0
    for path in harness.seeds(request_path.NAME):
        request = pb.ScreenRequest.FromString(path.read_bytes())
        try:
            app.servicer._screen_one(request)
            accepted += 1
        except ScreeningError:
            continue
    assert accepted >= 5


def test_the_bundle_seeds_hold_a_bundle_signed_by_the_harness_key() -> None:
    """The corpus starts from bundles that read, verify and load, not only refusals."""
    from departure_screening.screening.bundle import load_rules, read_bundle, verify

    loaded = 0
    for path in harness.seeds(bundle_reader.NAME):
        if path.name in ("signed", "stored"):
            verify(read_bundle(path), bundle_reader.KEYS, 1)
            assert load_rules(path).indicators
            loaded += 1
    assert loaded == 2


def test_memory_stays_bounded_over_fresh_apps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(request_path, "INPUTS_PER_APP", 50)
    monkeypatch.setattr(request_path, "_apps", request_path._Apps())
    data = [p.read_bytes() for p in harness.seeds(request_path.NAME)]
    for _ in range(40):  # 440 inputs, 9 fresh apps each checking RSS
        for item in data:
            request_path.TestOneInput(item)
    assert request_path._apps.baseline_rss > 0


def test_a_leak_is_reported() -> None:
    """The guard itself can fail: RSS more than the limit above the baseline is a leak."""
    apps = request_path._Apps()
    apps.current()
    apps.baseline_rss = -request_path.RSS_GROWTH_LIMIT  # as if it had grown by the limit
    apps.inputs = request_path.INPUTS_PER_APP
    with pytest.raises(request_path.MemoryLeak):
        apps.current()


@pytest.mark.parametrize("module", HARNESSES, ids=lambda m: m.NAME)
def test_bounded_atheris_run_finds_nothing(module: ModuleType, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"  # new inputs go here, never into the committed seeds
    artifacts = tmp_path / "artifacts"
    corpus.mkdir()
    artifacts.mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fuzz",
            module.NAME,
            str(corpus),
            str(harness.CORPUS / module.NAME),
            f"-runs={RUNS[module.NAME]}",
            f"-max_total_time={MAX_SECONDS}",
            f"-timeout={harness.TIMEOUT_SECONDS}",
            f"-rss_limit_mb={harness.RSS_LIMIT_MB}",
            f"-seed={SEED}",
            f"-artifact_prefix={artifacts}/",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=MAX_SECONDS + 60,
    )
    log = "\n".join(line for line in proc.stderr.splitlines() if "Instrumenting" not in line)
    assert proc.returncode == 0, log[-6000:]
    assert not list(artifacts.iterdir()), log[-6000:]
    assert "Done " in log, log[-3000:]
