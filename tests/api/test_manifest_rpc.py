"""``ScreenManifest``: one response per request, in order; bad items don't stop the stream."""

from __future__ import annotations

from conftest import InProcessServer
from departure_screening.v1 import screening_pb2 as pb
from google.rpc import code_pb2
from support.builders import screening
from support.rpc import bad_fields_of_status


def test_manifest_answers_in_order_with_per_item_errors(grpc_server: InProcessServer) -> None:
    items = [
        screening(trip__flight_number="QZ262", trip__destination_country="KH") for _ in range(30)
    ]
    items[7].trip.destination_country = "CAMBODIA"
    items[19].traveller.passport_number = "lowercase!"
    items[19].checkpoint = "NOWHERE"
    responses = list(
        grpc_server.stub.ScreenManifest(iter(pb.ScreenManifestRequest(screening=s) for s in items))
    )
    assert len(responses) == 30
    for n, (item, resp) in enumerate(zip(items, responses, strict=True)):
        if n == 7:
            assert resp.error.code == code_pb2.INVALID_ARGUMENT
            assert bad_fields_of_status(resp.error) == ["screening.trip.destination_country"]
            assert not resp.HasField("assessment")
        elif n == 19:
            assert sorted(bad_fields_of_status(resp.error)) == [
                "screening.checkpoint",
                "screening.traveller.passport_number",
            ]
            assert "lowercase!" not in str(resp.error)
        else:
            assert resp.assessment.request_id == item.request_id
            assert not resp.HasField("error")


def test_manifest_retry_and_conflict_inside_one_stream(grpc_server: InProcessServer) -> None:
    s = screening()
    other = pb.Screening()
    other.CopyFrom(s)
    other.trip.has_return_ticket = False
    responses = list(
        grpc_server.stub.ScreenManifest(
            iter(pb.ScreenManifestRequest(screening=x) for x in (s, s, other))
        )
    )
    assert responses[0].assessment == responses[1].assessment
    assert responses[2].error.code == code_pb2.ALREADY_EXISTS


def test_group_forms_across_a_manifest(grpc_server: InProcessServer) -> None:
    members = [
        screening(
            trip__flight_number="QZ262",
            trip__escort_passport_number="E1112223",
            trip__destination_country="KH",
        )
        for _ in range(5)
    ]
    responses = list(
        grpc_server.stub.ScreenManifest(
            iter(pb.ScreenManifestRequest(screening=s) for s in members)
        )
    )
    counts = [r.assessment.group.members_screened for r in responses]
    assert counts == [1, 2, 3, 4, 5]
    fired = ["GROUP_WITH_RECRUITER" in {i.code for i in r.assessment.indicators} for r in responses]
    assert fired == [False, False, True, True, True]
    assert len({r.assessment.group.group_key for r in responses}) == 1
