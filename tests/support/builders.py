"""Screening requests for tests: a neutral traveller, changed where a test needs it."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from departure_screening.api.convert import date_to_pb
from departure_screening.v1 import screening_pb2 as pb
from google.type import date_pb2

_ids = itertools.count(1)


def pb_date(value: str | dt.date) -> date_pb2.Date:
    return date_to_pb(dt.date.fromisoformat(value) if isinstance(value, str) else value)


def screening(**changes: Any) -> pb.Screening:
    """A traveller on whom nothing fires; keyword arguments replace fields.

    Nested fields use double underscores: ``trip__destination_country="KH"``.
    """
    n = next(_ids)
    s = pb.Screening(
        request_id=f"test-{n}",
        checkpoint="CGK",
        mode=pb.MODE_LIVE,
        officer_id="officer-1",
        traveller=pb.Traveller(
            passport_number=f"A{n:07d}",
            nationality="ID",
            birth_date=pb_date("1990-06-15"),
            passport_issue_date=pb_date("2022-01-10"),
        ),
        trip=pb.Trip(
            flight_number="GA820",
            departure_date=pb_date("2026-03-01"),
            destination_country="SG",
            has_return_ticket=True,
        ),
        declaration=pb.Declaration(purpose=pb.PURPOSE_TOURISM, visa_type=pb.VISA_TYPE_VISA_EXEMPT),
    )
    for key, value in changes.items():
        target: Any = s
        *path, name = key.split("__")
        for part in path:
            target = getattr(target, part)
        if isinstance(value, date_pb2.Date | dt.date) or name.endswith("_date"):
            getattr(target, name).CopyFrom(
                pb_date(value) if not isinstance(value, date_pb2.Date) else value
            )
        elif isinstance(value, list):
            field = getattr(target, name)
            del field[:]
            field.extend(value)
        else:
            setattr(target, name, value)
    return s
