"""The audit trail says who: device and officer, stored under the hash chain."""

from __future__ import annotations

from pathlib import Path

import grpc
from departure_screening.cli import main
from departure_screening.v1 import screening_pb2 as pb
from support import builders
from support.pki import Pki
from support.tamper import tamper

from .conftest import bearer, start_tls_server


def plain_server_records(store: str) -> str:
    """An assessment and a decision recorded without access control (as before)."""
    from departure_screening.serving.app import build_app
    from departure_screening.serving.config import ServeConfig
    from departure_screening.serving.server import serve
    from departure_screening.v1 import screening_pb2_grpc as pb_grpc

    running = serve(
        build_app(ServeConfig(listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", store=store))
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = pb_grpc.ScreeningServiceStub(channel)
            screened = stub.Screen(pb.ScreenRequest(screening=builders.screening()), timeout=10)
            assessment_id = screened.assessment.assessment_id
            stub.RecordDecision(
                pb.RecordDecisionRequest(
                    assessment_id=assessment_id, officer_id="o-1", decision=pb.DECISION_CLEARED
                ),
                timeout=10,
            )
            got = stub.GetAssessment(pb.GetAssessmentRequest(assessment_id=assessment_id))
            assert got.assessment.screened_by == pb.Principal()
            assert got.decisions[0].decided_by == pb.Principal()
            return str(assessment_id)
    finally:
        running.stop(0)


def test_who_screened_and_who_decided_are_stored_and_verified(
    fresh_pki: Pki, tmp_path: Path
) -> None:
    db = tmp_path / "depscreen.db"
    store = f"sqlite:///{db}"
    earlier = plain_server_records(store)  # a store written before principals existed

    server = start_tls_server(fresh_pki, store=store)
    try:
        counter = server.device("counter", "CGK")
        supervisor = server.device("supervisor", "CGK")
        issuer = fresh_pki.issuer
        screened = server.stub(counter).Screen(
            pb.ScreenRequest(screening=builders.screening(officer_id="")),
            metadata=bearer(issuer.token("officer-7")),
            timeout=10,
        )
        assessment_id = screened.assessment.assessment_id
        server.stub(supervisor).RecordDecision(
            pb.RecordDecisionRequest(assessment_id=assessment_id, decision=pb.DECISION_REFERRED),
            metadata=bearer(issuer.token("officer-9")),
            timeout=10,
        )
        got = server.stub(server.device("auditor", None)).GetAssessment(
            pb.GetAssessmentRequest(assessment_id=assessment_id), timeout=10
        )
        old = server.stub(server.device("auditor", None)).GetAssessment(
            pb.GetAssessmentRequest(assessment_id=earlier), timeout=10
        )
    finally:
        server.close()

    counter_id = "spiffe://imigrasi.go.id/checkpoint/CGK/counter/dev-01"
    supervisor_id = "spiffe://imigrasi.go.id/checkpoint/CGK/supervisor/dev-01"
    assert got.assessment.screened_by == pb.Principal(device=counter_id, officer="officer-7")
    assert got.decisions[0].decided_by == pb.Principal(device=supervisor_id, officer="officer-9")
    assert got.decisions[0].officer_id == "officer-9"
    assert old.assessment.screened_by == pb.Principal()

    # Old and new records verify together; the principal is under the chain.
    assert main(["audit", "verify", "--store", store]) == 0
    tamper(
        store,
        "UPDATE assessments SET body = replace(body, ?, ?) WHERE assessment_id = ?",
        (counter_id, counter_id.replace("CGK", "SUB"), assessment_id),
    )
    assert main(["audit", "verify", "--store", store]) != 0
