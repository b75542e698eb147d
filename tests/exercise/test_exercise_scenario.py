"""Scenario files: the bundled ones load, and a bad file says exactly what is wrong."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from departure_screening.exercise.scenario import (
    ScenarioError,
    bundled_names,
    load_scenario,
    parse_scenario,
)

from exercise.exercise_helpers import scenario_text, small_raw

REQUIRED_BUNDLED = {"cambodia-scam-recruitment", "festival-event-group", "ordinary-day-cgk"}


def test_bundled_scenarios_are_present_and_valid() -> None:
    names = bundled_names()
    assert set(names) >= REQUIRED_BUNDLED
    for name in names:
        scenario = load_scenario(name)
        assert scenario.name == name, "the file name is the scenario name"
        assert scenario.description and "\n" not in scenario.description
        assert scenario.cases, f"{name} plants no case"
        assert scenario.population


def test_bundled_scenarios_cover_the_cases_of_the_exercise() -> None:
    kinds = {c.kind for name in REQUIRED_BUNDLED for c in load_scenario(name).cases}
    assert kinds == {"individual", "group", "returning_escort", "retry"}
    cambodia = load_scenario("cambodia-scam-recruitment")
    cases = {c.case for c in cambodia.cases}
    assert {"photo-editor-recruit", "festival-event-group", "hidden-route"} <= cases
    assert {"minor-work-intent", "returning-escort", "retry-after-postponement"} <= cases
    profiles = {p.profile for p in cambodia.population}
    assert {"tourist", "business", "family", "pilgrim", "student"} <= profiles
    assert {"procedural-worker", "angkor-tour-group"} <= profiles


def test_load_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(scenario_text(small_raw()), encoding="utf-8")
    scenario = load_scenario(str(path))
    assert scenario.name == "small-test"
    assert scenario.source == str(path)


def test_unknown_name_lists_the_bundled_scenarios() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario("no-such-scenario")
    assert "cambodia-scam-recruitment" in str(info.value)


def test_missing_file() -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario("/nonexistent/dir/x.yaml")


def test_invalid_yaml() -> None:
    with pytest.raises(ScenarioError, match="not valid YAML"):
        parse_scenario("name: [unclosed", source="broken.yaml")


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(ScenarioError, match="expected a mapping"):
        parse_scenario("- a\n- b\n")


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets a dotted path (list indices as numbers) in the raw scenario."""

    def mutate(raw: dict[str, Any]) -> None:
        keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
        node: Any = raw
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return mutate


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(raw: dict[str, Any]) -> None:
        keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
        node: Any = raw
        for key in keys[:-1]:
            node = node[key]
        del node[keys[-1]]

    return mutate


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_set("schema", 2), "schema: unsupported schema 2"),
        (_drop("name"), "name: required"),
        (_set("name", "Bad Name"), "must be lower-case letters, digits and hyphens"),
        (_set("description", "two\nlines"), "description: must be one line"),
        (_set("travellers", 0), "travellers: must be between 1 and"),
        (_set("travellers", "many"), "travellers: expected an integer"),
        (_set("checkpoint", "cgk"), "checkpoint: expected a checkpoint code"),
        (_set("checkpoint", {"CGK": 0}), "checkpoint.CGK: weight must be a positive number"),
        (_set("dates.end", "2024-02-01"), "dates: start 2024-03-01 is after end 2024-02-01"),
        (_set("dates.start", "March"), "dates.start: expected a date YYYY-MM-DD"),
        (_set("flights", {"KH": ["qz 1"]}), "flights.KH: flight numbers must be"),
        (_set("population", []), "population: expected a non-empty list"),
        (_set("population.0.share", -1), "population[0].share: must be a positive number"),
        (_set("population.0.colour", "red"), "population[0].colour: unknown key"),
        (
            _set("population.0.traveller.destinaton", "KH"),
            "population[0].traveller.destinaton: unknown key (did you mean 'destination'?)",
        ),
        (_drop("population.0.traveller.purpose"), "population[0].traveller.purpose: required"),
        (
            _set("population.0.traveller.destination", "Cambodia"),
            "population[0].traveller.destination: expected an ISO 3166-1 alpha-2 code",
        ),
        (
            _set("population.0.traveller.purpose", "holiday"),
            "population[0].traveller.purpose: unknown purpose 'holiday'",
        ),
        (
            _set("population.0.traveller.visa", {"tourist": 1, "golden": 2}),
            "population[0].traveller.visa.golden: unknown visa 'golden'",
        ),
        (
            _set("population.0.traveller.return_ticket", 1.5),
            "population[0].traveller.return_ticket: a probability must be between 0 and 1",
        ),
        (
            _set("population.0.traveller.age", [40, 20]),
            "population[0].traveller.age: min 40 is greater than max 20",
        ),
        (
            _set("population.0.traveller.transit", "MY XX"),
            "population[0].traveller.transit: expected an ISO 3166-1 alpha-2 code",
        ),
        (
            _set("population.0.traveller.observations", {"looks_nervous": 0.5}),
            "population[0].traveller.observations.looks_nervous: unknown observation",
        ),
        (_set("cases.0.kind", "gang"), "cases[0].kind: expected one of individual, group"),
        (_set("cases.2.size", [2, 5]), "cases[2].size[0]: must be between 3 and 500, got 2"),
        (_set("cases.0.size", [3, 5]), "cases[0].size: unknown key"),
        (_drop("cases.3.trips"), "cases[3].trips: required"),
        (_set("cases.3.trips", 1), "cases[3].trips: must be between 2 and 52"),
        (_drop("cases.4.first"), "cases[4].first: required"),
        (_set("cases.4.decision", "cleared"), "cases[4].decision: unknown decision 'cleared'"),
        (_set("cases.1.case", "recruit"), "cases[1].case: duplicate case 'recruit'"),
        (_set("cases.0.expects", ["not a code"]), "cases[0].expects[0]: not an indicator code"),
        (_set("cases.0.count", 0), "cases[0].count: must be between 1 and"),
    ],
)
def test_validation_errors_name_the_key(
    mutate: Callable[[dict[str, Any]], None], expected: str
) -> None:
    raw = small_raw()
    mutate(raw)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(scenario_text(raw), source="bad.yaml")
    message = str(info.value)
    assert message.startswith("invalid scenario bad.yaml:")
    assert expected in message, message


def test_every_problem_is_reported_at_once() -> None:
    raw = small_raw()
    raw["travellers"] = -5
    raw["population"][1]["group_size"] = [0, 3]
    raw["cases"][0]["traveller"]["visa"] = "diplomatic"
    with pytest.raises(ScenarioError) as info:
        parse_scenario(scenario_text(raw))
    problems = info.value.problems
    assert len(problems) == 3, problems
    assert any(p.startswith("travellers:") for p in problems)
    assert any(p.startswith("population[1].group_size[0]:") for p in problems)
    assert any(p.startswith("cases[0].traveller.visa:") for p in problems)


def test_defaults_and_weighted_choices(small_scenario: Any) -> None:
    tourist = small_scenario.population[0]
    assert tourist.group_size.low == tourist.group_size.high == 1
    assert tourist.traveller.transit.values() == ((),)
    family = small_scenario.population[1]
    ages = family.traveller.age.values()
    assert [(a.low, a.high) for a in ages] == [(25, 60), (1, 17)]
    recruit = small_scenario.case("recruit")
    assert recruit is not None
    assert set(recruit.traveller.transit.values()) == {(), ("MY",)}


def test_fingerprint_follows_the_content() -> None:
    a = parse_scenario(scenario_text(small_raw()))
    raw = small_raw()
    raw["cases"][0]["count"] = 5
    b = parse_scenario(scenario_text(raw))
    assert a.fingerprint == parse_scenario(scenario_text(small_raw())).fingerprint
    assert a.fingerprint != b.fingerprint


def test_intended_rates_and_guidance_are_read() -> None:
    raw = small_raw()
    raw["intended"] = {"false_alarm_rate": [0.05, 0.2], "miss_rate": [0.1, 0.3]}
    raw["population"][0]["why"] = "Holidays."
    raw["population"][0]["officer"] = "Proceed."
    raw["cases"][0]["officer"] = "Postpone."
    scenario = parse_scenario(scenario_text(raw))
    assert scenario.intended is not None
    assert scenario.intended.false_alarm.holds(0.05) and not scenario.intended.miss.holds(0.31)
    tourist = scenario.guidance("tourist", at_risk=False)
    assert (tourist.why, tourist.officer) == ("Holidays.", "Proceed.")
    assert scenario.guidance("recruit", at_risk=True).officer == "Postpone."
    assert scenario.guidance("nobody", at_risk=False).why == ""


def test_bad_intended_rates_are_reported() -> None:
    raw = small_raw()
    raw["intended"] = {"false_alarm_rate": [0.3, 0.1], "miss_rate": [0, 2], "other": 1}
    with pytest.raises(ScenarioError) as info:
        parse_scenario(scenario_text(raw))
    problems = "\n".join(info.value.problems)
    assert "intended.other: unknown key" in problems
    assert "intended.false_alarm_rate: min 0.3 is greater than max 0.1" in problems
    assert "intended.miss_rate[1]: a probability must be between 0 and 1" in problems
