"""Long-lived streams have slots of their own and never starve the short calls."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc
import pytest
from conftest import InProcessServer, start_in_process
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc
from support.builders import screening

WATCH = pb.WatchAlertsRequest(checkpoint="CGK", mode=pb.MODE_LIVE)


class OpenManifest:
    """A manifest stream that has sent one traveller and then waits (a slow sender)."""

    def __init__(self, stub: pb_grpc.ScreeningServiceStub) -> None:
        self._done = threading.Event()
        self.call = stub.ScreenManifest(self._requests(), timeout=60)

    def _requests(self) -> Iterator[pb.ScreenManifestRequest]:
        yield pb.ScreenManifestRequest(screening=screening())
        self._done.wait(60)

    def first_answer(self) -> pb.ScreenManifestResponse:
        return next(self.call)

    def close(self) -> None:
        self._done.set()
        self.call.cancel()


def open_watcher(stub: pb_grpc.ScreeningServiceStub) -> grpc.Call:
    call = stub.WatchAlerts(WATCH, timeout=60)
    # Sent once the subscription is live on the server.
    assert ("x-depscreen-watching", "1") in (call.initial_metadata() or ())
    return call


@pytest.fixture
def server() -> Iterator[InProcessServer]:
    server = start_in_process()
    yield server
    server.channel.close()
    server.running.stop(0)


def test_screen_completes_with_200_watchers_and_20_manifests_open(
    server: InProcessServer,
) -> None:
    # Several connections, as many consoles and manifest feeds would have.
    channels = [
        grpc.insecure_channel(server.target, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(10)
    ]
    stubs = [pb_grpc.ScreeningServiceStub(c) for c in channels]
    watchers = [open_watcher(stubs[i % len(stubs)]) for i in range(200)]
    manifests = [OpenManifest(stubs[i % len(stubs)]) for i in range(20)]
    try:
        for m in manifests:
            assert m.first_answer().HasField("assessment")
        # Every stream is open and holds its thread: short calls still get theirs.
        for _ in range(20):
            answer = server.stub.Screen(pb.ScreenRequest(screening=screening()), timeout=10)
            assert answer.assessment.assessment_id
        got = server.stub.ListIndicators(pb.ListIndicatorsRequest(), timeout=10)
        assert got.indicators
    finally:
        for w in watchers:
            w.cancel()
        for m in manifests:
            m.close()
        for c in channels:
            c.close()


def test_streams_past_their_limit_get_resource_exhausted() -> None:
    server = start_in_process(max_watchers=2, max_manifest_streams=1)
    try:
        stub = server.stub
        first, second = open_watcher(stub), open_watcher(stub)
        with pytest.raises(grpc.RpcError) as info:
            next(stub.WatchAlerts(WATCH, timeout=10))
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        # A slot freed is a slot taken again.
        first.cancel()
        third = _retry_watch(stub)
        manifest = OpenManifest(stub)
        assert manifest.first_answer().HasField("assessment")
        with pytest.raises(grpc.RpcError) as info:
            list(
                stub.ScreenManifest(
                    iter([pb.ScreenManifestRequest(screening=screening())]), timeout=10
                )
            )
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert stub.Screen(pb.ScreenRequest(screening=screening()), timeout=10).assessment
        manifest.close()
        second.cancel()
        third.cancel()
        text = server.metrics_text()
        assert 'method="WatchAlerts"' in text and 'code="RESOURCE_EXHAUSTED"' in text
    finally:
        server.channel.close()
        server.running.stop(0)


def _retry_watch(stub: pb_grpc.ScreeningServiceStub) -> grpc.Call:
    """The server frees a cancelled watcher's slot when its stream notices (within 0.5 s)."""
    for _ in range(100):
        call = stub.WatchAlerts(WATCH, timeout=60)
        if ("x-depscreen-watching", "1") in (call.initial_metadata() or ()):
            return call
        call.cancel()
        threading.Event().wait(0.1)
    raise AssertionError("the cancelled watcher's slot was never freed")
