"""Hot reload: a new ruleset goes live without a restart, a refused one changes nothing."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from departure_screening.api.convert import screening_from_pb
from departure_screening.metrics import create_metrics
from departure_screening.pipeline.screener import Screener
from departure_screening.privacy.pseudonym import Pseudonymizer
from departure_screening.screening.bundle import NO_SIGNATURES
from departure_screening.screening.engine import RuleEngine
from departure_screening.screening.ruleset import default_rules_dir, load_ruleset
from departure_screening.serving.reload import APPLIED, UNCHANGED, RulesReloader
from departure_screening.store.memory import MemoryStore
from departure_screening.v1 import screening_pb2 as pb
from support.builders import screening
from support.rpc import sample_value
from support.servers import ServerProcess
from support.waiting import wait_for

OLD_SCORE, NEW_SCORE = 25, 27  # a tourist to Cambodia: watch-list 20 + tourist entry 5 (then 7)
CANDIDATE_TESTS = """\
defaults:
  checkpoint: CGK
  mode: MODE_LIVE
  traveller: {passport_number: X1234567, nationality: ID, birth_date: "1990-06-15",
              passport_issue_date: "2022-01-10"}
  trip: {flight_number: GA820, departure_date: "2026-03-01", destination_country: KH,
         has_return_ticket: true}
  declaration: {purpose: PURPOSE_TOURISM, visa_type: VISA_TYPE_VISA_EXEMPT}
  observations: []
cases:
  - name: tourist entry to Cambodia now weighs 7
    expect: {codes: [DESTINATION_WATCHLIST, TOURIST_ENTRY_TO_WATCHLIST], score: 27}
"""


def write_candidate(target: Path, version: str, tourist_weight: int = 7) -> Path:
    """The shipped rules with another tourist-entry weight and tests that expect it."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(default_rules_dir(), target)
    ruleset = target / "ruleset.yaml"
    ruleset.write_text(ruleset.read_text().replace('version: "1.0.0"', f'version: "{version}"'))
    indicators = target / "indicators.yaml"
    text = indicators.read_text()
    marker = "  - code: TOURIST_ENTRY_TO_WATCHLIST\n    weight: 5\n"
    assert marker in text
    indicators.write_text(
        text.replace(marker, marker.replace("weight: 5", f"weight: {tourist_weight}"))
    )
    shutil.rmtree(target / "tests")
    (target / "tests").mkdir()
    (target / "tests" / "indicators.yaml").write_text(CANDIDATE_TESTS)
    return target


def tourist_to_cambodia() -> pb.ScreenRequest:
    return pb.ScreenRequest(screening=screening(trip__destination_country="KH"))


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), path)
    return path


@pytest.fixture
def server(rules: Path, tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(
        store=f"sqlite:///{tmp_path}/s.db", extra_args=["--rules", str(rules), "--rules-poll", "0"]
    ) as running:
        yield running


def reloads(server: ServerProcess, result: str) -> float:
    return sample_value(
        server.metrics_text(), "depscreen_config_reloads_total", {"file": "rules", "result": result}
    )


def test_sighup_under_load_switches_versions_with_no_failed_call(
    server: ServerProcess, rules: Path
) -> None:
    stub = server.stub()
    old = stub.Screen(tourist_to_cambodia()).assessment
    assert old.score == OLD_SCORE
    write_candidate(rules, "1.1.0")
    new_version = load_ruleset(rules).version
    seen: list[pb.Assessment] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                seen.append(stub.Screen(tourist_to_cambodia(), timeout=10).assessment)
            except grpc.RpcError as error:
                errors.append(error)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(seen) > 20, timeout=20)
        assert server.proc is not None
        server.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: any(a.ruleset_version == new_version for a in seen), timeout=20)
        count = len(seen)
        wait_for(lambda: len(seen) > count + 20, timeout=20)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    score_of = {old.ruleset_version: OLD_SCORE, new_version: NEW_SCORE}
    assert {a.ruleset_version for a in seen} == set(score_of)
    # Every assessment was scored by the version it records.
    assert all(a.score == score_of[a.ruleset_version] for a in seen)
    listed = stub.ListIndicators(pb.ListIndicatorsRequest())
    assert listed.ruleset_version == new_version
    text = server.metrics_text()
    assert sample_value(text, "depscreen_ruleset_info", {"version": new_version}) == 1
    assert 'version="' + old.ruleset_version not in text
    assert reloads(server, "applied") == 1


@pytest.mark.parametrize("defect", ["invalid", "failing table test"])
def test_a_refused_ruleset_leaves_the_serving_one(
    server: ServerProcess, rules: Path, defect: str
) -> None:
    stub = server.stub()
    version = stub.Screen(tourist_to_cambodia()).assessment.ruleset_version
    if defect == "invalid":
        (rules / "indicators.yaml").write_text("indicators: [{code: lowercase}]\n")
    else:
        write_candidate(rules, "1.2.0", tourist_weight=9)  # its tests expect 7
    assert server.proc is not None
    server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: reloads(server, "refused") == 1, timeout=20)
    assessment = stub.Screen(tourist_to_cambodia()).assessment
    assert (assessment.ruleset_version, assessment.score) == (version, OLD_SCORE)
    assert reloads(server, "applied") == 0
    assert "ruleset reload refused" in server.log()


def test_a_configmap_swap_is_seen_without_a_signal(tmp_path: Path) -> None:
    """Kubernetes mounts a ConfigMap as links through ``..data``, swapped at once."""
    mount = tmp_path / "mount"
    mount.mkdir()
    shutil.copytree(default_rules_dir(), mount / "..v1")
    write_candidate(mount / "..v2", "2.0.0")
    os.symlink("..v1", mount / "..data")
    for name in ("ruleset.yaml", "indicators.yaml", "tests"):
        os.symlink(f"..data/{name}", mount / name)
    new_version = load_ruleset(mount / "..v2").version
    with ServerProcess(
        store=f"sqlite:///{tmp_path}/s.db",
        extra_args=["--rules", str(mount), "--rules-poll", "0.2"],
    ) as server:
        stub = server.stub()
        assert stub.Screen(tourist_to_cambodia()).assessment.score == OLD_SCORE
        os.symlink("..v2", mount / "..data_tmp")
        os.replace(mount / "..data_tmp", mount / "..data")  # the kubelet's atomic swap
        wait_for(lambda: stub.ListIndicators(pb.ListIndicatorsRequest()).ruleset_version
                 == new_version, timeout=20)  # fmt: skip
        assert stub.Screen(tourist_to_cambodia()).assessment.score == NEW_SCORE


def test_memory_and_compiled_rulesets_stay_bounded_over_200_reloads(tmp_path: Path) -> None:
    shipped = load_ruleset(default_rules_dir())
    screener = Screener(shipped, MemoryStore(), Pseudonymizer(b"k" * 32))
    path = tmp_path / "rules"
    reloader = RulesReloader(path, NO_SIGNATURES, screener, create_metrics(), ("CGK",))
    before = RuleEngine.compiled_versions()

    def reload_version(i: int) -> None:
        write_candidate(path, f"3.0.{i}")
        assert reloader.reload() == APPLIED
        screener.screen(screening_from_pb(screening(trip__destination_country="KH")))

    for i in range(20):  # warm-up: allocator pools and caches reach their size
        reload_version(i)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for i in range(20, 200):
        reload_version(i)
    growth_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert reloader.reload() == UNCHANGED
    # Only the serving version is compiled beside what was there before.
    assert RuleEngine.compiled_versions() - before == {screener.engine.name}
    assert growth_kb < 20_000, f"resident memory grew by {growth_kb} kB over 180 reloads"
    screener.close()
