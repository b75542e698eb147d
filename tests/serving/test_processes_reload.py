"""``--processes N``: SIGHUP reaches every worker, and the supervisor's /metrics then
shows the new ruleset version alone."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

from departure_screening.screening.ruleset import default_rules_dir, load_ruleset
from prometheus_client.parser import text_string_to_metric_families
from support.servers import ServerProcess
from support.waiting import wait_for


def versions(text: str) -> dict[str, float]:
    return {
        s.labels["version"]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "depscreen_ruleset_info"
    }


def reloads_applied(text: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "depscreen_config_reloads_total"
        and s.labels == {"file": "rules", "result": "applied"}
    )


def test_the_supervisor_shows_one_version_once_every_worker_reloaded(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    old = load_ruleset(rules).version
    server = ServerProcess(
        store=f"sqlite:///{tmp_path}/depscreen.db",
        extra_args=["--processes", "2", "--rules", str(rules), "--rules-poll", "0"],
    ).start()
    try:
        wait_for(lambda: "with 2 processes" in server.log(), timeout=30)
        assert versions(server.metrics_text()) == {old: 1}
        ruleset = rules / "ruleset.yaml"
        ruleset.write_text(ruleset.read_text().replace('version: "1.0.0"', 'version: "1.0.1"'))
        new = load_ruleset(rules).version
        assert server.proc is not None
        server.proc.send_signal(signal.SIGHUP)
        # Both workers count their reload; then only the new version is shown.
        wait_for(lambda: reloads_applied(server.metrics_text()) == 2, timeout=30)
        assert versions(server.metrics_text()) == {new: 1}
        time.sleep(0.5)  # and it stays so
        assert versions(server.metrics_text()) == {new: 1}
    finally:
        server.terminate(timeout=30)
        server.kill()
