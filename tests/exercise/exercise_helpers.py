"""Shared data for the exercise tests: a small scenario with every kind of planted case."""

from __future__ import annotations

import copy
from typing import Any

import yaml

SMALL: dict[str, Any] = {
    "schema": 1,
    "name": "small-test",
    "description": "A small scenario with one case of every kind.",
    "travellers": 120,
    "checkpoint": {"CGK": 2, "SUB": 1},
    "dates": {"start": "2024-03-01", "end": "2024-03-03"},
    "population": [
        {
            "profile": "tourist",
            "share": 3,
            "traveller": {
                "age": [20, 60],
                "destination": {"SG": 1, "MY": 1},
                "purpose": "tourism",
                "visa": "visa_exempt",
                "return_ticket": 0.9,
            },
        },
        {
            "profile": "family",
            "share": 1,
            "group_size": [2, 4],
            "traveller": {
                "age": {"25-60": 2, "1-17": 1},
                "destination": "MY",
                "purpose": "family_visit",
                "visa": "visa_exempt",
            },
        },
        {
            "profile": "procedural-worker",
            "share": 1,
            "traveller": {
                "destination": "TW",
                "purpose": "work",
                "visa": "work",
                "disnaker": 1.0,
                "bp2mi": 1.0,
            },
        },
    ],
    "cases": [
        {
            "case": "recruit",
            "kind": "individual",
            "count": 4,
            "expects": ["DESTINATION_WATCHLIST"],
            "traveller": {
                "age": [19, 28],
                "destination": "KH",
                "transit": {"none": 1, "MY": 1},
                "purpose": "tourism",
                "visa": "visa_exempt",
                "return_ticket": 0.0,
                "observations": {"carries_job_offer": 0.5},
            },
        },
        {
            "case": "minor",
            "kind": "individual",
            "count": 2,
            "traveller": {
                "age": [15, 17],
                "destination": "MY",
                "purpose": "work",
                "visa": "visa_exempt",
            },
        },
        {
            "case": "event-group",
            "kind": "group",
            "count": 2,
            "size": [5, 8],
            "expects": ["GROUP_WITH_RECRUITER"],
            "traveller": {
                "destination": "KH",
                "purpose": "tourism",
                "visa": "visa_exempt",
                "return_ticket": 0.0,
            },
        },
        {
            "case": "weekly-escort",
            "kind": "returning_escort",
            "count": 1,
            "trips": 5,
            "every_days": 7,
            "size": [1, 2],
            "expects": ["REPEAT_ESCORT"],
            "traveller": {
                "destination": "KH",
                "purpose": "tourism",
                "visa": "visa_exempt",
                "return_ticket": 0.0,
            },
        },
        {
            "case": "retry",
            "kind": "retry",
            "count": 2,
            "gap_days": [20, 60],
            "decision": "postponed",
            "expects": ["PRIOR_POSTPONEMENT"],
            "first": {
                "destination": "KH",
                "purpose": "tourism",
                "visa": "visa_exempt",
                "return_ticket": 0.0,
                "observations": {"carries_job_offer": 1.0},
            },
            "traveller": {
                "destination": "KH",
                "purpose": "tourism",
                "visa": "visa_exempt",
                "return_ticket": 1.0,
            },
        },
    ],
}


def small_raw() -> dict[str, Any]:
    """A fresh copy of the small scenario as parsed YAML, for tests to break."""
    return copy.deepcopy(SMALL)


def scenario_text(raw: dict[str, Any]) -> str:
    return yaml.safe_dump(raw, sort_keys=False)
