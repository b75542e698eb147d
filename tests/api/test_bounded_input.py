"""Bounded input: request size, repeated observations, violations per response, read-ahead."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from conftest import InProcessServer
from departure_screening.api import validation
from departure_screening.api.validation import MAX_REQUEST_BYTES, MAX_VIOLATIONS
from departure_screening.v1 import screening_pb2 as pb
from grpc_status import rpc_status
from hypothesis import given, settings
from hypothesis import strategies as st
from support.builders import screening
from support.rpc import bad_fields
from support.servers import ServerProcess

CHECKPOINTS = ("CGK",)
OBSERVATIONS = [v for v in pb.Observation.values() if v != pb.OBSERVATION_UNSPECIFIED]
# Generous bounds a user relies on: a flood is refused at once and costs no memory.
FLOOD_SECONDS = 2.0
FLOOD_RSS_MB = 50.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def violations_of(**changes: object) -> list[tuple[str, str]]:
    request = pb.ScreenRequest(screening=screening(**changes))
    return [(v.field, v.description) for v in validation.screening_violations(request, CHECKPOINTS)]


# -- observations: each value at most once ---------------------------------------


def test_a_repeated_observation_is_a_field_violation() -> None:
    got = violations_of(
        observations=[pb.OBSERVATION_CARRIES_JOB_OFFER, 2, pb.OBSERVATION_CARRIES_JOB_OFFER]
    )
    assert [field for field, _ in got] == ["screening.observations[2]"]


def test_each_observation_once_is_accepted() -> None:
    assert violations_of(observations=OBSERVATIONS) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([*OBSERVATIONS, 0, 99]), max_size=40))
def test_violations_name_exactly_the_bad_and_repeated_observations(values: list[int]) -> None:
    expected: list[str] = []
    seen: set[int] = set()
    for n, value in enumerate(values):
        if value not in OBSERVATIONS or value in seen:
            expected.append(f"screening.observations[{n}]")
        seen.add(value)
    got = [field for field, _ in violations_of(observations=values)]
    assert got == expected[:MAX_VIOLATIONS]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=2**31 - 1), max_size=300),
    st.lists(st.text(max_size=4), max_size=30),
)
def test_no_response_holds_more_than_the_bounded_number_of_violations(
    observations: list[int], transits: list[str]
) -> None:
    got = violations_of(observations=observations, trip__transit_countries=transits)
    assert len(got) <= MAX_VIOLATIONS
    assert len({field for field, _ in got}) == len(got)  # one violation per bad field


def test_a_screening_with_everything_wrong_gets_at_most_the_bound(
    grpc_server: InProcessServer,
) -> None:
    flood = pb.Screening(observations=[0] * 10_000, trip=pb.Trip(transit_countries=["x"] * 5))
    with pytest.raises(grpc.RpcError) as info:
        grpc_server.stub.Screen(pb.ScreenRequest(screening=flood), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = bad_fields(info.value)
    assert len(fields) == MAX_VIOLATIONS
    assert "screening.request_id" in fields  # the fields come first, then the flood


# -- request size ---------------------------------------------------------------


def test_a_request_over_the_maximum_size_is_refused(grpc_server: InProcessServer) -> None:
    big = screening(officer_id="x" * MAX_REQUEST_BYTES)
    with pytest.raises(grpc.RpcError) as info:
        grpc_server.stub.Screen(pb.ScreenRequest(screening=big), timeout=10)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # Just under it is read and judged on its fields.
    near = screening(officer_id="x" * (MAX_REQUEST_BYTES - 1024))
    with pytest.raises(grpc.RpcError) as info:
        grpc_server.stub.Screen(pb.ScreenRequest(screening=near), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rpc_status.from_call(info.value) is not None  # type: ignore[arg-type]


def test_a_flood_is_refused_in_milliseconds_with_memory_flat() -> None:
    with ServerProcess(store="memory:") as server:
        assert server.proc is not None
        stub = server.stub()
        stub.Screen(pb.ScreenRequest(screening=screening()), timeout=10)  # warm
        before = rss_mb(server.proc.pid)
        floods = [
            # 1 MB of bad observations, and a repeated field within the size limit.
            (pb.Screening(observations=[0] * 1_000_000), grpc.StatusCode.RESOURCE_EXHAUSTED),
            (screening(observations=[0] * 60_000), grpc.StatusCode.INVALID_ARGUMENT),
        ]
        for flood, code in floods:
            for _ in range(5):
                started = time.monotonic()
                with pytest.raises(grpc.RpcError) as info:
                    stub.Screen(pb.ScreenRequest(screening=flood), timeout=30)
                elapsed = time.monotonic() - started
                assert info.value.code() == code
                assert elapsed < FLOOD_SECONDS, elapsed
            manifest = iter([pb.ScreenManifestRequest(screening=flood)])
            if code == grpc.StatusCode.RESOURCE_EXHAUSTED:  # the stream itself is refused
                with pytest.raises(grpc.RpcError) as info:
                    list(stub.ScreenManifest(manifest, timeout=30))
                assert info.value.code() == code
            else:  # the item gets its own error
                (answer,) = stub.ScreenManifest(manifest, timeout=30)
                assert answer.error.code == code.value[0]
        grown = rss_mb(server.proc.pid) - before
        assert grown < FLOOD_RSS_MB, f"server grew by {grown:.0f} MB"
        assert stub.Screen(pb.ScreenRequest(screening=screening()), timeout=10).assessment


# -- manifest read-ahead -----------------------------------------------------------


def test_a_fast_manifest_sender_is_held_back(grpc_server: InProcessServer) -> None:
    """While screening is stuck, the server stops reading: the sender stops sending."""
    release = threading.Event()
    screener = grpc_server.running.app.screener
    real = screener.screen_many

    def stuck(items):  # type: ignore[no-untyped-def]
        release.wait(60)
        return real(items)

    screener.screen_many = stuck  # type: ignore[method-assign]
    sent = itertools.count()
    produced = [0]
    stop = threading.Event()

    def endless() -> Iterator[pb.ScreenManifestRequest]:
        while not stop.is_set():
            produced[0] = next(sent) + 1
            yield pb.ScreenManifestRequest(screening=screening())

    call = grpc_server.stub.ScreenManifest(endless(), timeout=120)
    try:
        # Wait until the sender has stopped for a whole second (it is blocked).
        deadline = time.monotonic() + 60
        last, since = -1, time.monotonic()
        while time.monotonic() - since < 1.0:
            assert time.monotonic() < deadline, f"still sending after {produced[0]} requests"
            if produced[0] != last:
                last, since = produced[0], time.monotonic()
            stop.wait(0.1)
        assert produced[0] < 5_000, produced[0]
    finally:
        stop.set()
        release.set()
        call.cancel()
