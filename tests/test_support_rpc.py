"""The metric helper of the tests can fail: a missing series is an error, not 0."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest
from support.rpc import sample_absent, sample_value


def test_a_missing_series_fails_instead_of_reading_zero() -> None:
    registry = CollectorRegistry()
    counter = Counter("things", "Things.", ["kind"], registry=registry)
    counter.labels("a").inc(2)
    text = generate_latest(registry).decode()
    assert sample_value(text, "things_total", {"kind": "a"}) == 2
    with pytest.raises(AssertionError, match="no series"):
        sample_value(text, "things_total", {"kind": "b"})
    with pytest.raises(AssertionError, match="no series"):
        sample_value(text, "renamed_total", {})
    assert sample_absent(text, "things_total", {"kind": "b"})
    assert not sample_absent(text, "things_total", {"kind": "a"})
