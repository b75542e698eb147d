"""``depscreen serve`` as operators run it: flags, environment, graceful SIGTERM."""

from __future__ import annotations

import threading

import grpc
from departure_screening.v1 import screening_pb2 as pb
from support.builders import screening
from support.servers import ServerProcess, free_port


def test_serve_answers_and_drains_on_sigterm(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = ServerProcess(store="memory:", extra_args=["--checkpoints", "CGK,XYZ"]).start()
    stub = proc.stub()
    a = stub.Screen(pb.ScreenRequest(screening=screening(checkpoint="XYZ"))).assessment
    assert a.checkpoint == "XYZ"
    assert "depscreen_ruleset_info" in proc.metrics_text()
    # A manifest in flight when SIGTERM arrives still gets every answer.
    items = [screening() for _ in range(200)]
    answers: list[pb.ScreenManifestResponse] = []
    started = threading.Event()

    def feed():  # type: ignore[no-untyped-def]
        for n, s in enumerate(items):
            if n == 20:
                started.set()
            yield pb.ScreenManifestRequest(screening=s)

    def consume() -> None:
        answers.extend(stub.ScreenManifest(feed(), timeout=30))

    t = threading.Thread(target=consume)
    t.start()
    assert started.wait(10)
    assert proc.terminate() == 0
    t.join(30)
    assert len(answers) == 200 and all(r.HasField("assessment") for r in answers)
    assert "shutting down" in proc.log()


def test_flags_can_come_from_the_environment() -> None:
    port = free_port()
    proc = ServerProcess(store="memory:", env={"DEPSCREEN_CHECKPOINTS": "ABC"})
    with proc:
        stub = proc.stub()
        with grpc.insecure_channel(proc.target) as channel:
            stub = pb_grpc_stub(channel)
            try:
                stub.Screen(pb.ScreenRequest(screening=screening(checkpoint="CGK")))
                raise AssertionError("CGK should not be configured")
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            ok = stub.Screen(pb.ScreenRequest(screening=screening(checkpoint="ABC")))
            assert ok.assessment.checkpoint == "ABC"
    assert port > 0


def pb_grpc_stub(channel: grpc.Channel):  # type: ignore[no-untyped-def]
    from departure_screening.v1 import screening_pb2_grpc

    return screening_pb2_grpc.ScreeningServiceStub(channel)
