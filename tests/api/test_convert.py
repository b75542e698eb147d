"""Proto ↔ domain conversions that are written out by hand, checked against protobuf's own."""

from __future__ import annotations

import datetime as dt

from departure_screening.api.convert import timestamp_to_pb
from google.protobuf import timestamp_pb2
from hypothesis import given
from hypothesis import strategies as st

ZONES = st.sampled_from(
    [
        None,
        dt.UTC,
        dt.timezone(dt.timedelta(hours=7)),
        dt.timezone(dt.timedelta(hours=-9, minutes=-30)),
    ]
)


@given(st.datetimes(min_value=dt.datetime(1900, 1, 2), max_value=dt.datetime(9999, 12, 30)), ZONES)
def test_timestamp_to_pb_agrees_with_protobuf(value: dt.datetime, zone: dt.tzinfo | None) -> None:
    value = value.replace(tzinfo=zone)
    expected = timestamp_pb2.Timestamp()
    expected.FromDatetime(value)
    assert timestamp_to_pb(value) == expected
