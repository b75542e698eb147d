"""Generation: deterministic, well-formed, and planting what the scenario says."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import re
from collections import defaultdict

import pytest
from departure_screening.exercise.generate import (
    GeneratedTraveller,
    GenerationError,
    generate,
    to_date,
    to_json_line,
)
from departure_screening.exercise.scenario import Scenario, bundled_names, load_scenario
from departure_screening.v1 import screening_pb2 as pb
from google.protobuf import json_format

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
PASSPORT = re.compile(r"^T[0-9]{10}$")


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _wire(items: list[GeneratedTraveller]) -> list[tuple[bytes, object]]:
    return [(s.SerializeToString(deterministic=True), t) for s, t in items]


def test_same_seed_gives_identical_travellers(small_scenario: Scenario) -> None:
    assert _wire(generate(small_scenario, 7)) == _wire(generate(small_scenario, 7))


def test_another_seed_gives_other_travellers(small_scenario: Scenario) -> None:
    a = generate(small_scenario, 7)
    b = generate(small_scenario, 8)
    assert [s.traveller.passport_number for s, _ in a] != [
        s.traveller.passport_number for s, _ in b
    ]
    assert {s.request_id for s, _ in a}.isdisjoint({s.request_id for s, _ in b})


def test_generation_leaves_global_random_alone(small_scenario: Scenario) -> None:
    random.seed(1234)
    expected = random.random()
    random.seed(1234)
    generate(small_scenario, 3)
    assert random.random() == expected


@pytest.mark.parametrize("name", bundled_names())
def test_bundled_scenarios_are_deterministic_at_their_size(name: str) -> None:
    scenario = load_scenario(name)
    first = generate(scenario, 11)
    assert len(first) == scenario.travellers
    assert _wire(first) == _wire(generate(load_scenario(name), 11))


def test_size_override_and_scaling(small_scenario: Scenario) -> None:
    big = generate(small_scenario, 1, travellers=600)
    assert len(big) == 600
    planted_big = sum(1 for _, t in big if t.planted)
    planted_default = sum(1 for _, t in generate(small_scenario, 1) if t.planted)
    assert planted_big > 3 * planted_default, "planted cases scale with the size"
    cases = {t.case for _, t in generate(small_scenario, 1, travellers=60) if t.planted}
    assert cases == {c.case for c in small_scenario.cases}, "every case stays present"


def test_too_few_travellers_is_a_clear_error(small_scenario: Scenario) -> None:
    with pytest.raises(GenerationError, match="too few for scenario 'small-test'"):
        generate(small_scenario, 1, travellers=5)
    with pytest.raises(GenerationError, match="seed"):
        generate(small_scenario, -1)


def test_screenings_are_valid_training_requests(small_scenario: Scenario) -> None:
    items = generate(small_scenario, 5)
    ids = [s.request_id for s, _ in items]
    assert len(set(ids)) == len(ids)
    for s, _ in items:
        assert s.mode == pb.MODE_TRAINING
        assert REQUEST_ID.match(s.request_id)
        assert s.checkpoint in {"CGK", "SUB"}
        assert PASSPORT.match(s.traveller.passport_number)
        assert s.traveller.nationality == "ID"
        departure = to_date(s.trip.departure_date)
        assert to_date(s.traveller.birth_date) <= departure
        assert to_date(s.traveller.passport_issue_date) <= departure
        assert to_date(s.traveller.birth_date) <= to_date(s.traveller.passport_issue_date)
        assert re.match(r"^[A-Z0-9]{2,10}$", s.trip.flight_number)
        assert len(s.trip.transit_countries) <= 8
        assert s.trip.destination_country not in s.trip.transit_countries
        assert len(s.trip.booking_reference) <= 16
        assert len(s.trip.tour_operator_license) <= 32
        assert s.declaration.purpose != pb.PURPOSE_UNSPECIFIED
        assert s.declaration.visa_type != pb.VISA_TYPE_UNSPECIFIED


def test_order_is_by_departure_date(small_scenario: Scenario) -> None:
    dates = [to_date(s.trip.departure_date) for s, _ in generate(small_scenario, 9)]
    assert dates == sorted(dates)


def test_ground_truth_labels(small_scenario: Scenario) -> None:
    items = generate(small_scenario, 2)
    profiles = {p.profile for p in small_scenario.population}
    for _, truth in items:
        if truth.planted:
            assert truth.at_risk
            assert small_scenario.case(truth.case) is not None
        else:
            assert not truth.at_risk
            assert truth.case in profiles


def test_ages_follow_the_template(small_scenario: Scenario) -> None:
    for s, truth in generate(small_scenario, 4):
        age = _age(to_date(s.traveller.birth_date), to_date(s.trip.departure_date))
        if truth.case == "minor":
            assert 15 <= age <= 17
        elif truth.case == "recruit":
            assert 19 <= age <= 28


def test_planted_groups_share_flight_date_and_escort(small_scenario: Scenario) -> None:
    groups: dict[str, list[pb.Screening]] = defaultdict(list)
    for s, truth in generate(small_scenario, 6):
        if truth.group:
            groups[truth.group].append(s)
    assert sorted(groups) == ["event-group#1", "event-group#2"]
    escorts = set()
    for members in groups.values():
        assert 5 <= len(members) <= 8
        keys = {
            (m.trip.flight_number, m.trip.departure_date.SerializeToString(), m.checkpoint)
            for m in members
        }
        assert len(keys) == 1
        escort = {m.trip.escort_passport_number for m in members}
        assert len(escort) == 1 and PASSPORT.match(escort.pop() or "")
        escorts.add(members[0].trip.escort_passport_number)
        assert len({m.traveller.passport_number for m in members}) == len(members)
        assert all(m.trip.destination_country == "KH" for m in members)
    assert len(escorts) == 2


def test_returning_escort_travels_every_week(small_scenario: Scenario) -> None:
    trips: dict[dt.date, set[str]] = defaultdict(set)
    escorts = set()
    for s, truth in generate(small_scenario, 6):
        if truth.case == "weekly-escort":
            trips[to_date(s.trip.departure_date)].add(s.trip.flight_number)
            escorts.add(s.trip.escort_passport_number)
            assert truth.step.startswith("trip ") and truth.step.endswith(" of 5")
    assert len(escorts) == 1
    dates = sorted(trips)
    assert len(dates) == 5
    assert all((b - a).days == 7 for a, b in itertools.pairwise(dates))
    assert small_scenario.start <= dates[-1] <= small_scenario.end
    assert len({f for fs in trips.values() for f in fs}) == 1, "the same route every week"


def test_retry_is_the_same_passport_twice_with_a_scripted_decision(
    small_scenario: Scenario,
) -> None:
    attempts: dict[str, list[tuple[int, pb.Screening, str, str]]] = defaultdict(list)
    for i, (s, truth) in enumerate(generate(small_scenario, 6)):
        if truth.case == "retry":
            attempts[s.traveller.passport_number].append((i, s, truth.step, truth.decision))
    assert len(attempts) == 2
    for pair in attempts.values():
        assert [(step, decision) for _, _, step, decision in pair] == [
            ("first attempt", "postponed"),
            ("second attempt", ""),
        ]
        (i1, first, _, _), (i2, second, _, _) = pair
        assert i1 < i2
        gap = (to_date(second.trip.departure_date) - to_date(first.trip.departure_date)).days
        assert 20 <= gap <= 60
        assert first.traveller == second.traveller
        assert not first.trip.has_return_ticket and second.trip.has_return_ticket
        assert pb.OBSERVATION_CARRIES_JOB_OFFER in first.observations


def test_only_retries_carry_decisions(small_scenario: Scenario) -> None:
    decided = [t for _, t in generate(small_scenario, 3) if t.decision]
    assert len(decided) == 2 and all(t.case == "retry" for t in decided)


def test_population_mix_is_exact(small_scenario: Scenario) -> None:
    items = generate(small_scenario, 10)
    genuine = [t.case for _, t in items if not t.planted]
    counts = {p: genuine.count(p) for p in ("tourist", "family", "procedural-worker")}
    total = len(genuine)
    # Shares 3:1:1, allocated by largest remainder.
    assert abs(counts["tourist"] - total * 3 / 5) < 1
    assert abs(counts["family"] - total / 5) < 1
    workers = [s for s, t in items if t.case == "procedural-worker"]
    assert all(
        s.declaration.disnaker_recommendation_number and s.declaration.bp2mi_registration_number
        for s in workers
    )


def test_json_lines_round_trip(small_scenario: Scenario) -> None:
    for item in generate(small_scenario, 12)[:30]:
        record = json.loads(to_json_line(item))
        assert set(record) == {"screening", "truth"}
        parsed = json_format.ParseDict(record["screening"], pb.Screening())
        assert parsed == item.screening
        assert record["truth"]["at_risk"] is item.truth.at_risk
        assert record["truth"]["case"] == item.truth.case
