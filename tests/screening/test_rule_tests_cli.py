"""``depscreen rules test``: passes on the shipped rules, fails with a diff on a broken copy."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from departure_screening.screening.rule_tests import run_rule_tests
from departure_screening.screening.ruleset import default_rules_dir, load_ruleset


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "departure_screening", "rules", "test", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_every_indicator_has_a_table_case() -> None:
    directory = default_rules_dir()
    results = run_rule_tests(load_ruleset(directory), directory)
    assert results and all(r.passed for r in results), [r for r in results if not r.passed]
    text = "".join(p.read_text() for p in (directory / "tests").glob("*.yaml"))
    for ind in load_ruleset(directory).indicators:
        assert ind.code in text, f"no rule test mentions {ind.code}"


def test_shipped_rules_pass() -> None:
    result = _run()
    assert result.returncode == 0, result.stdout
    assert " 0 failed" in result.stdout


def test_broken_copy_fails_with_a_readable_diff(tmp_path: Path) -> None:
    broken = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), broken)
    path = broken / "indicators.yaml"
    path.write_text(
        path.read_text().replace("$lt: {age_on_departure: 18}", "$lte: {age_on_departure: 18}")
    )
    result = _run(str(broken))
    assert result.returncode == 1
    assert "FAIL indicators.yaml: 18 on the departure day is not a minor" in result.stdout
    assert (
        "codes: expected [], got ['MINOR_WITH_WORK_INTENT']; unexpected ['MINOR_WITH_WORK_INTENT']"
        in result.stdout
    )
    assert "score: expected 0, got 40" in result.stdout
