"""Fixtures of the exercise tests."""

from __future__ import annotations

import pytest
from departure_screening.exercise.scenario import Scenario, parse_scenario

from exercise.exercise_helpers import scenario_text, small_raw


@pytest.fixture
def small_scenario() -> Scenario:
    return parse_scenario(scenario_text(small_raw()), source="small-test.yaml")
