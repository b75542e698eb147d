"""A console that does not keep up is ended with RESOURCE_EXHAUSTED, resumes without a
gap, and never slows screening or the other consoles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from conftest import InProcessServer, start_in_process
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc
from support.consoles import Console, raise_alert

BUFFER = 4
ALERTS = 24


@pytest.fixture
def server(tmp_path: Path) -> Iterator[InProcessServer]:
    server = start_in_process(store=f"sqlite:///{tmp_path / 'depscreen.db'}", watch_buffer=BUFFER)
    yield server
    server.channel.close()
    server.running.stop(0)


def stalled_channel(target: str) -> grpc.Channel:
    """A client whose stream window is a few alerts wide: once it stops reading, HTTP/2
    flow control stops the server's sends to it, as for a console on a stalled link."""
    return grpc.insecure_channel(
        target, options=[("grpc.http2.lookahead_bytes", 1024), ("grpc.http2.bdp_probe", 0)]
    )


def test_a_stalled_console_is_ended_and_resumes_while_others_keep_going(
    server: InProcessServer,
) -> None:
    fast = Console(server.stub)
    channel = stalled_channel(server.target)
    stalled = pb_grpc.ScreeningServiceStub(channel).WatchAlerts(
        pb.WatchAlertsRequest(checkpoint="CGK", mode=pb.MODE_LIVE), timeout=120
    )
    try:
        assert ("x-depscreen-watching", "1") in (stalled.initial_metadata() or ())
        # Every screening completes while the stalled console reads nothing.
        groups = [raise_alert(server.stub) for _ in range(ALERTS)]
        assert [a.group_key for a in fast.wait_for(ALERTS)] == groups

        received: list[pb.Alert] = []
        with pytest.raises(grpc.RpcError) as ended:
            for response in stalled:
                received.append(response.alert)
        assert ended.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert len(received) < ALERTS, len(received)
        assert [a.group_key for a in received] == groups[: len(received)]

        resumed = Console(server.stub, after_alert_id=received[-1].alert_id if received else "0")
        rest = resumed.wait_for(ALERTS - len(received))
        resumed.close()
        assert [a.group_key for a in received + rest] == groups
        assert fast.ended is None, "the fast console is still watching"
    finally:
        fast.close()
        stalled.cancel()
        channel.close()
