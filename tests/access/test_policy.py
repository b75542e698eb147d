"""The policy file: validated whole, deny by default, and its table tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from departure_screening.access.policy import (
    PolicyError,
    Reason,
    Request,
    default_policy_path,
    load_policy,
    parse_policy,
)
from departure_screening.cli import main


def test_the_shipped_policy_passes_its_table_tests(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["access", "test"]) == 0
    assert "0 failed" in capsys.readouterr().out


def test_a_policy_that_strays_from_the_table_fails_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.yaml"
    shutil.copy(default_policy_path(), path)
    text = path.read_text().replace("    auditor: {}  # every checkpoint, both modes\n", "")
    path.write_text(text)
    assert main(["access", "test", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "auditor GetAssessment" in out


def test_an_invalid_policy_fails_the_command(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("version: 2\nrpcs: {}\n")
    assert main(["access", "test", str(path)]) == 1


def test_deny_by_default() -> None:
    policy = parse_policy({"version": 1, "rpcs": {"Screen": {"counter": {}}}})
    ask = Request(rpc="ListIndicators", role="counter", device_checkpoint="CGK", has_officer=True)
    assert policy.decide(ask) is Reason.ROLE_NOT_ALLOWED
    ask = Request(rpc="Screen", role="supervisor", device_checkpoint="CGK", has_officer=True)
    assert policy.decide(ask) is Reason.ROLE_NOT_ALLOWED


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"rpcs": {}},
        {"version": 1, "rpcs": {"Screen": {"counter": {"checkpoint": "own", "when": "x"}}}},
        {"version": 1, "rpcs": {"ListIndicators": {"counter": {"mode": "training"}}}},
        {"version": 1, "rpcs": {"Screen": ["counter"]}},
    ],
    ids=["empty", "no version", "unknown condition", "mode on ListIndicators", "list of roles"],
)
def test_malformed_policies_are_refused(data: object) -> None:
    with pytest.raises(PolicyError):
        parse_policy(data)


def test_the_shipped_policy_loads() -> None:
    policy = load_policy(default_policy_path())
    assert set(policy.grants["ListIndicators"]) == {
        "counter",
        "manifest",
        "supervisor",
        "auditor",
        "instructor",
    }
