"""Every cell of the roles table, allowed and refused, over real mTLS calls.

The cases are the shipped policy's own table tests, so the policy file, its tests and the
server's enforcement cannot drift apart.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from departure_screening.access.policy_tests import default_cases_path, load_cases
from departure_screening.v1 import screening_pb2 as pb
from support import builders

from .conftest import MODES, TlsServer, bearer

CASES = load_cases(default_cases_path())
NOT_VISIBLE = {"other_checkpoint", "training_only"}


def expected_code(case: dict[str, Any]) -> grpc.StatusCode:
    outcome = case["expect"]
    if outcome == "allow":
        return grpc.StatusCode.OK
    if outcome == "token_required":
        return grpc.StatusCode.UNAUTHENTICATED
    if case["rpc"] in ("GetAssessment", "RecordDecision") and outcome in NOT_VISIBLE:
        return grpc.StatusCode.NOT_FOUND  # existence does not leak
    return grpc.StatusCode.PERMISSION_DENIED


def call(server: TlsServer, case: dict[str, Any]) -> grpc.StatusCode:
    stub = server.as_role(case["device"])
    metadata = bearer(server.pki.issuer.token()) if case.get("officer") else ()
    checkpoint, mode = case.get("checkpoint", "CGK"), case.get("mode", "live")
    rpc = case["rpc"]
    try:
        if rpc == "Screen":
            screening = builders.screening(checkpoint=checkpoint, mode=MODES[mode], officer_id="")
            stub.Screen(pb.ScreenRequest(screening=screening), metadata=metadata, timeout=10)
        elif rpc == "ScreenManifest":
            screening = builders.screening(checkpoint=checkpoint, mode=MODES[mode], officer_id="")
            responses = list(
                stub.ScreenManifest(
                    iter([pb.ScreenManifestRequest(screening=screening)]),
                    metadata=metadata,
                    timeout=10,
                )
            )
            assert responses[0].HasField("assessment"), responses
        elif rpc == "RecordDecision":
            assessment_id = server.assessment(checkpoint, mode)
            stub.RecordDecision(
                pb.RecordDecisionRequest(
                    assessment_id=assessment_id,
                    officer_id="" if case.get("officer") else "officer-1",
                    decision=pb.DECISION_CLEARED,
                ),
                metadata=metadata,
                timeout=10,
            )
        elif rpc == "GetAssessment":
            assessment_id = server.assessment(checkpoint, mode)
            stub.GetAssessment(
                pb.GetAssessmentRequest(assessment_id=assessment_id), metadata=metadata, timeout=10
            )
        elif rpc == "ListIndicators":
            stub.ListIndicators(pb.ListIndicatorsRequest(), metadata=metadata, timeout=10)
        elif rpc == "WatchAlerts":
            watch = stub.WatchAlerts(
                pb.WatchAlertsRequest(checkpoint=checkpoint, mode=MODES[mode]),
                metadata=metadata,
                timeout=10,
            )
            watching = dict(watch.initial_metadata()).get("x-depscreen-watching") == "1"
            code = watch.code() if not watching else grpc.StatusCode.OK
            watch.cancel()
            return code  # type: ignore[no-any-return]
        else:
            raise AssertionError(rpc)
    except grpc.RpcError as error:
        return error.code()  # type: ignore[no-any-return,attr-defined]
    return grpc.StatusCode.OK


def case_id(case: dict[str, Any]) -> str:
    who = "officer" if case.get("officer") else "device"
    return (
        f"{case['device']}-{case['rpc']}-{case.get('checkpoint', '')}-{case.get('mode', '')}-{who}"
    )


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_each_cell_of_the_roles_table(tls_server: TlsServer, case: dict[str, Any]) -> None:
    assert call(tls_server, case) == expected_code(case)


def test_the_table_covers_every_role_and_rpc_both_ways() -> None:
    outcomes: dict[tuple[str, str], set[bool]] = {}
    for case in CASES:
        role = case["device"].partition("@")[0]
        outcomes.setdefault((role, case["rpc"]), set()).add(case["expect"] == "allow")
    roles = {"counter", "manifest", "supervisor", "auditor", "instructor"}
    rpcs = {
        "Screen",
        "ScreenManifest",
        "RecordDecision",
        "GetAssessment",
        "ListIndicators",
        "WatchAlerts",
    }
    assert set(outcomes) == {(role, rpc) for role in roles for rpc in rpcs}
    # Every RPC is both allowed to someone and refused to someone (ListIndicators aside).
    for rpc in rpcs - {"ListIndicators"}:
        assert {True, False} <= set().union(*(v for (r, p), v in outcomes.items() if p == rpc))
