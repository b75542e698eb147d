"""Reading airline passenger lists (UN/EDIFACT PAXLST) into screening-ready records."""

from __future__ import annotations

from departure_screening.paxlst.reader import (
    Flight,
    FlightManifest,
    PassengerRecord,
    PaxlstFile,
    PaxlstSyntaxError,
    Rejection,
    read_paxlst,
)

__all__ = [
    "Flight",
    "FlightManifest",
    "PassengerRecord",
    "PaxlstFile",
    "PaxlstSyntaxError",
    "Rejection",
    "read_paxlst",
]
