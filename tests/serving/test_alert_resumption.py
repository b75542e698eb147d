"""``WatchAlerts`` with ``after_alert_id``: replay then live, each alert exactly once,
on SQLite and PostgreSQL, over gRPC on loopback."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from conftest import InProcessServer, start_in_process
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc
from hypothesis import given
from hypothesis import strategies as st
from support.consoles import Console, raise_alert
from support.rpc import bad_fields


@pytest.fixture(params=["sqlite", "postgresql"])
def durable_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[InProcessServer]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'depscreen.db'}"
        key = ""
    else:
        url = request.getfixturevalue("pg_database")
        key = str(tmp_path / "pseudonym.key")
        Path(key).write_text(secrets.token_hex(32))
    server = start_in_process(store=url, key_file=key)
    yield server
    server.channel.close()
    server.running.stop(0)


def ids(alerts: list[pb.Alert]) -> list[str]:
    return [a.alert_id for a in alerts]


def test_a_console_that_reconnects_gets_the_missed_alerts_then_live_ones_once(
    durable_server: InProcessServer,
) -> None:
    stub = durable_server.stub
    first = Console(stub)
    groups = [raise_alert(stub)]
    seen = first.wait_for(1)
    first.close()
    assert [a.group_key for a in seen] == groups
    resume_from = seen[0].alert_id
    assert len(resume_from) == 20 and resume_from.isdigit()

    # Raised while no console was watching, one of them at another checkpoint.
    groups += [raise_alert(stub), raise_alert(stub)]
    raise_alert(stub, checkpoint="SUB")
    again = Console(stub, after_alert_id=resume_from)
    replayed = again.wait_for(2)
    groups.append(raise_alert(stub))  # live, after the replay
    got = again.wait_for(3)
    raise_alert(stub)  # the stream is still live; this one is not counted yet
    got = again.wait_for(4)
    again.close()
    assert [a.group_key for a in got[:3]] == groups[1:]
    assert [a.group_key for a in replayed[:2]] == groups[1:3]
    assert ids(got) == sorted(set(ids(got))), "in raise order, no duplicates"
    assert all(a.alert_id > resume_from and a.checkpoint == "CGK" for a in got)

    # From the very start: every retained alert of the checkpoint, in order.
    everything = Console(stub, after_alert_id="0")
    all_cgk = everything.wait_for(5)
    everything.close()
    assert all_cgk[0].alert_id == resume_from
    assert ids(all_cgk[1:]) == ids(got)


def test_alert_ids_order_the_alerts_of_one_store(durable_server: InProcessServer) -> None:
    console = Console(durable_server.stub)
    for _ in range(3):
        raise_alert(durable_server.stub)
    got = console.wait_for(3)
    console.close()
    assert ids(got) == sorted(ids(got)) and len(set(ids(got))) == 3


def test_a_console_resuming_past_the_last_alert_gets_only_live_ones(
    durable_server: InProcessServer,
) -> None:
    stub = durable_server.stub
    watching = Console(stub)
    raise_alert(stub)
    last = watching.wait_for(1)[0].alert_id
    watching.close()
    resumed = Console(stub, after_alert_id=last)
    live = raise_alert(stub)
    got = resumed.wait_for(1)
    resumed.close()
    assert [a.group_key for a in got] == [live]


# -- a bad after_alert_id ------------------------------------------------------------


def _watch_error(stub: pb_grpc.ScreeningServiceStub, after: str) -> grpc.RpcError:
    call = stub.WatchAlerts(
        pb.WatchAlertsRequest(checkpoint="CGK", mode=pb.MODE_LIVE, after_alert_id=after),
        timeout=10,
    )
    with pytest.raises(grpc.RpcError) as caught:
        next(call)
    return caught.value


@pytest.mark.parametrize("after", ["abc", "-1", "1.5", " 12", "1" * 21, "99999999999999999999"])
def test_a_bad_after_alert_id_is_invalid_argument(
    shared_server: InProcessServer, after: str
) -> None:
    error = _watch_error(shared_server.stub, after)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_fields(error) == ["after_alert_id"]


def test_a_bad_after_alert_id_beside_a_bad_checkpoint_names_both(
    shared_server: InProcessServer,
) -> None:
    call = shared_server.stub.WatchAlerts(
        pb.WatchAlertsRequest(checkpoint="XXX", mode=pb.MODE_LIVE, after_alert_id="x"),
        timeout=10,
    )
    with pytest.raises(grpc.RpcError) as caught:
        next(call)
    assert sorted(bad_fields(caught.value)) == ["after_alert_id", "checkpoint"]


@given(
    st.text(min_size=1, max_size=30).filter(
        lambda t: not (t.isascii() and t.isdigit() and len(t) <= 20 and int(t) < 2**63)
    )
)
def test_any_after_alert_id_that_is_not_one_is_refused(
    shared_server: InProcessServer, after: str
) -> None:
    error = _watch_error(shared_server.stub, after)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_fields(error) == ["after_alert_id"]


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_any_alert_id_number_is_accepted(shared_server: InProcessServer, number: int) -> None:
    call = shared_server.stub.WatchAlerts(
        pb.WatchAlertsRequest(checkpoint="CGK", mode=pb.MODE_LIVE, after_alert_id=f"{number:020d}"),
        timeout=10,
    )
    try:
        assert ("x-depscreen-watching", "1") in (call.initial_metadata() or ())
    finally:
        call.cancel()
