from __future__ import annotations

import datetime as dt

import pytest
from departure_screening.privacy.masking import mask_number
from departure_screening.screening.facts import age_on, watchlist_weight
from departure_screening.screening.ruleset import Ruleset


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        ("2008-03-01", "2026-03-01", 18),
        ("2008-03-02", "2026-03-01", 17),
        ("2008-02-29", "2026-02-28", 17),
        ("2008-02-29", "2026-03-01", 18),
        ("2008-02-29", "2028-02-29", 20),
        ("2000-12-31", "2001-01-01", 0),
    ],
)
def test_age_in_completed_years(birth: str, day: str, age: int) -> None:
    assert age_on(dt.date.fromisoformat(birth), dt.date.fromisoformat(day)) == age


def test_watchlist_weight_takes_the_highest(ruleset: Ruleset) -> None:
    lists = ruleset.lists
    assert watchlist_weight(lists, "PH", ("TH", "KH")) == 20
    assert watchlist_weight(lists, "SG", ("TH",)) == 10
    assert watchlist_weight(lists, "SG", ()) == 0


def test_mask_keeps_only_a_short_tail() -> None:
    assert mask_number("C1234567") == "*****567"
    assert mask_number("AB123") == "*****"
    assert mask_number("") == ""
