"""Per-item checks of streams, a watch ending with its token, and invisible assessments."""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
import pytest
from departure_screening.v1 import screening_pb2 as pb
from support import builders
from support.consoles import Console, raise_alert
from support.pki import Pki

from .conftest import MODES, TlsServer, bearer, start_tls_server


@pytest.fixture
def own_server(fresh_pki: Pki) -> Iterator[TlsServer]:
    """A server of its own, so its counts start at zero."""
    server = start_tls_server(fresh_pki)
    yield server
    server.close()


def screenings_at(server: TlsServer, checkpoint: str) -> float:
    return sum(
        server.sample("depscreen_screenings_total", checkpoint=checkpoint, mode=mode, band=band)
        for mode in ("live", "training")
        for band in ("low", "elevated", "high")
    )


def test_a_manifest_is_refused_at_its_first_item_of_another_checkpoint(
    own_server: TlsServer, caplog: pytest.LogCaptureFixture
) -> None:
    items = [builders.screening(checkpoint="CGK") for _ in range(5)]
    items[2] = builders.screening(checkpoint="SUB", traveller__passport_number="X9876543")
    stub = own_server.stub(own_server.device("manifest", "CGK"))
    received = []
    with pytest.raises(grpc.RpcError) as raised:
        for response in stub.ScreenManifest(
            iter(pb.ScreenManifestRequest(screening=s) for s in items), timeout=10
        ):
            received.append(response)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
    assert len(received) <= 2
    # The first two may be stored; nothing of the third, nor anything after it.
    assert screenings_at(own_server, "SUB") == 0
    assert screenings_at(own_server, "CGK") <= 2
    assert (
        own_server.sample(
            "depscreen_access_denied_total",
            method="ScreenManifest",
            role="manifest",
            reason="other_checkpoint",
        )
        == 1
    )
    assert (
        own_server.sample(
            "depscreen_rpc_requests_total", method="ScreenManifest", code="PERMISSION_DENIED"
        )
        == 1
    )
    assert (
        own_server.sample("depscreen_rpc_requests_total", method="ScreenManifest", code="INTERNAL")
        == 0
    )
    # The access line names the role and the reason, never the traveller.
    denied = [r.getMessage() for r in caplog.records if "access denied" in r.getMessage()]
    assert denied and "role=manifest" in denied[0] and "reason=other_checkpoint" in denied[0]
    assert "X9876543" not in caplog.text


def test_an_instructor_asking_for_live_is_refused(tls_server: TlsServer) -> None:
    stub = tls_server.stub(tls_server.device("instructor", None))
    screening = builders.screening(mode=pb.MODE_LIVE)
    with pytest.raises(grpc.RpcError) as raised:
        stub.Screen(pb.ScreenRequest(screening=screening), timeout=10)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
    training = builders.screening(mode=pb.MODE_TRAINING)
    assert stub.Screen(pb.ScreenRequest(screening=training), timeout=10).assessment.assessment_id


def test_an_invisible_assessment_answers_exactly_as_a_missing_one(tls_server: TlsServer) -> None:
    other = tls_server.assessment("SUB", "live")
    stub = tls_server.stub(tls_server.device("counter", "CGK"))

    def failure(assessment_id: str) -> tuple[grpc.StatusCode, str, tuple[object, ...]]:
        with pytest.raises(grpc.RpcError) as raised:
            stub.GetAssessment(pb.GetAssessmentRequest(assessment_id=assessment_id), timeout=10)
        error = raised.value
        trailers = tuple(
            (k, v)
            for k, v in error.trailing_metadata()
            if k == "grpc-status-details-bin"  # type: ignore[attr-defined]
        )
        return error.code(), error.details(), trailers  # type: ignore[attr-defined]

    missing = other[:-4] + ("0000" if not other.endswith("0000") else "1111")
    hidden_code, hidden_details, hidden_trailers = failure(other)
    missing_code, missing_details, missing_trailers = failure(missing)
    assert hidden_code == missing_code == grpc.StatusCode.NOT_FOUND
    assert hidden_details == missing_details.replace(missing, other)
    assert len(hidden_trailers) == len(missing_trailers) == 1
    # A decision on it is refused the same way, and nothing is recorded.
    with pytest.raises(grpc.RpcError) as raised:
        stub.RecordDecision(
            pb.RecordDecisionRequest(
                assessment_id=other, officer_id="", decision=pb.DECISION_CLEARED
            ),
            metadata=bearer(tls_server.pki.issuer.token()),
            timeout=10,
        )
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]
    auditor = tls_server.stub(tls_server.device("auditor", None))
    got = auditor.GetAssessment(pb.GetAssessmentRequest(assessment_id=other), timeout=10)
    assert list(got.decisions) == []


def test_a_watch_ends_when_its_officer_token_expires(tls_server: TlsServer) -> None:
    stub = tls_server.stub(tls_server.device("supervisor", "CGK"))
    token = tls_server.pki.issuer.token(ttl=2)
    watch = stub.WatchAlerts(
        pb.WatchAlertsRequest(checkpoint="CGK", mode=MODES["live"]),
        metadata=bearer(token),
        timeout=30,
    )
    assert dict(watch.initial_metadata()).get("x-depscreen-watching") == "1"
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as raised:
        list(watch)
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
    assert time.monotonic() - started < 10  # well before the call's own deadline


def test_a_watch_of_another_checkpoint_is_refused(tls_server: TlsServer) -> None:
    stub = tls_server.stub(tls_server.device("supervisor", "CGK"))
    watch = stub.WatchAlerts(
        pb.WatchAlertsRequest(checkpoint="SUB", mode=MODES["live"]), timeout=10
    )
    with pytest.raises(grpc.RpcError) as raised:
        list(watch)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]


def test_a_resumed_watch_replays_only_the_supervisors_own_checkpoint(
    own_server: TlsServer,
) -> None:
    groups = {}
    for checkpoint in ("SUB", "CGK"):
        counter = own_server.stub(own_server.device("counter", checkpoint))
        groups[checkpoint] = raise_alert(counter, checkpoint=checkpoint)
    supervisor = own_server.stub(own_server.device("supervisor", "CGK"))
    console = Console(supervisor, after_alert_id="0")
    # SUB's alert was raised first, so replayed in id order it would come before CGK's.
    got = console.wait_for(1)
    console.close()
    assert [(a.checkpoint, a.group_key) for a in console.alerts] == [("CGK", groups["CGK"])]
    assert got[0].alert_id
    refused = supervisor.WatchAlerts(
        pb.WatchAlertsRequest(checkpoint="SUB", mode=MODES["live"], after_alert_id="0"),
        timeout=10,
    )
    with pytest.raises(grpc.RpcError) as raised:
        list(refused)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
