"""--max-connection-age-seconds: the server closes aged connections (GOAWAY), clients reconnect."""

from __future__ import annotations

import threading

import grpc
from conftest import start_in_process
from grpc_health.v1 import health_pb2, health_pb2_grpc


def test_aged_connection_is_closed_and_the_client_reconnects() -> None:
    server = start_in_process(max_connection_age_seconds=0.5, max_connection_age_grace_seconds=0.5)
    states: list[grpc.ChannelConnectivity] = []
    idle_after_ready = threading.Event()

    def seen(state: grpc.ChannelConnectivity) -> None:
        if state == grpc.ChannelConnectivity.IDLE and grpc.ChannelConnectivity.READY in states:
            idle_after_ready.set()
        states.append(state)

    try:
        server.channel.subscribe(seen)
        stub = health_pb2_grpc.HealthStub(server.channel)
        stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert idle_after_ready.wait(10), states
        # The next call connects again.
        reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        server.channel.unsubscribe(seen)
        server.channel.close()
        server.running.stop(0)
