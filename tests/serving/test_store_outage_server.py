"""PostgreSQL stopped under a running server: UNAVAILABLE, then it serves again by itself."""

from __future__ import annotations

import secrets

import grpc
import pytest
from departure_screening.v1 import screening_pb2 as pb
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support.builders import screening
from support.postgres import PostgresCluster
from support.servers import ServerProcess
from support.waiting import wait_for

SERVICE = "departure_screening.v1.ScreeningService"


def health(target: str) -> int:
    with grpc.insecure_channel(target) as channel:
        return int(
            health_pb2_grpc.HealthStub(channel)
            .Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=5)
            .status
        )


def test_outage_gives_unavailable_and_recovers(outage_db: tuple[PostgresCluster, str]) -> None:
    # The private cluster, never an outside server: this test stops it.
    postgres_cluster, db = outage_db
    env = {"DEPSCREEN_PSEUDONYM_KEY": secrets.token_hex(32)}
    with ServerProcess(store=db, env=env) as server:
        stub = server.stub()
        before = stub.Screen(pb.ScreenRequest(screening=screening())).assessment
        postgres_cluster.stop()  # outage_db starts it again if the test fails here
        with pytest.raises(grpc.RpcError) as info:
            stub.Screen(pb.ScreenRequest(screening=screening()), timeout=30)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        with pytest.raises(grpc.RpcError) as info:
            list(
                stub.ScreenManifest(
                    iter([pb.ScreenManifestRequest(screening=screening())]), timeout=30
                )
            )
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        wait_for(
            lambda: health(server.target) == health_pb2.HealthCheckResponse.NOT_SERVING,
            timeout=30,
            interval=0.2,
        )
        postgres_cluster.start()
        wait_for(
            lambda: health(server.target) == health_pb2.HealthCheckResponse.SERVING,
            timeout=30,
            interval=0.2,
        )
        after = stub.Screen(pb.ScreenRequest(screening=screening()), timeout=30).assessment
        assert after.assessment_id != before.assessment_id
        got = stub.GetAssessment(pb.GetAssessmentRequest(assessment_id=before.assessment_id))
        assert got.assessment == before
        assert 'code="UNAVAILABLE"' in server.metrics_text()
