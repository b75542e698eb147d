"""Table tests of an access policy (``depscreen access test``), like the ruleset's.

A case file holds ``cases:``, each one call and the expected outcome::

    - {device: counter@CGK, rpc: Screen, checkpoint: CGK, mode: live, expect: allow}
    - {device: auditor, rpc: Screen, checkpoint: CGK, mode: live, expect: role_not_allowed}

``device`` is ``role@CHECKPOINT`` or a national role; ``officer: true`` when an officer token
comes with the call; ``expect`` is ``allow`` or the refusal's reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from departure_screening.access.policy import Policy, Reason, Request

CASE_FIELDS = {"name", "device", "officer", "rpc", "checkpoint", "mode", "expect"}


def default_cases_path() -> Path:
    return Path(__file__).with_name("default-policy-tests.yaml")


@dataclass(frozen=True)
class CaseResult:
    name: str
    expected: str
    actual: str

    @property
    def passed(self) -> bool:
        return self.expected == self.actual


def load_cases(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text())
    cases = data.get("cases") if isinstance(data, dict) else None
    if not isinstance(cases, list):
        raise ValueError(f"{path}: expected a mapping with a list of cases")
    for index, case in enumerate(cases):
        if not isinstance(case, dict) or not {"device", "rpc", "expect"} <= set(case):
            raise ValueError(f"{path}: case {index + 1} needs device, rpc and expect")
        unknown = set(case) - CASE_FIELDS
        if unknown:
            raise ValueError(f"{path}: case {index + 1}: unknown field {sorted(unknown)[0]!r}")
        if case["expect"] != "allow" and case["expect"] not in {r.value for r in Reason}:
            raise ValueError(f"{path}: case {index + 1}: unknown outcome {case['expect']!r}")
    return cases


def run_case(policy: Policy, case: dict[str, Any]) -> CaseResult:
    role, _, device_checkpoint = str(case["device"]).partition("@")
    request = Request(
        rpc=case["rpc"],
        role=role,
        device_checkpoint=device_checkpoint or None,
        has_officer=bool(case.get("officer", False)),
        checkpoint=case.get("checkpoint"),
        mode=case.get("mode"),
    )
    reason = policy.decide(request)
    name = case.get("name") or (
        f"{case['device']} {case['rpc']} {case.get('checkpoint', '')} {case.get('mode', '')}"
        f"{' with officer' if case.get('officer') else ''}"
    )
    return CaseResult(" ".join(name.split()), str(case["expect"]), reason or "allow")


def run_policy_tests(policy: Policy, cases_path: Path) -> list[CaseResult]:
    return [run_case(policy, case) for case in load_cases(cases_path)]
