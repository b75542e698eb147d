"""Helpers to read rich gRPC errors in tests."""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status


def bad_fields_of_status(status: status_pb2.Status) -> list[str]:
    fields: list[str] = []
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            fields += [v.field for v in bad.field_violations]
    return fields


def bad_fields(error: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "no google.rpc.Status in grpc-status-details-bin"
    return bad_fields_of_status(status)


def _samples(text: str, name: str, labels: dict[str, str]) -> list[float]:
    from prometheus_client.parser import text_string_to_metric_families

    return [
        float(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    ]


def sample_value(text: str, name: str, labels: dict[str, str]) -> float:
    """The sum of the samples named ``name`` whose labels include ``labels``.

    A series that is not there fails the test: reading it as 0 would let a renamed
    metric or label pass every "nothing was counted" check."""
    values = _samples(text, name, labels)
    assert values, f"no series {name}{labels} in the metrics"
    return sum(values)


def sample_absent(text: str, name: str, labels: dict[str, str]) -> bool:
    """True when no series named ``name`` has ``labels`` (for "never created")."""
    return not _samples(text, name, labels)
