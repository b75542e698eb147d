"""A scenario whose flights arrive as passenger lists (PAXLST) first and at the counter later."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import InProcessServer
from departure_screening.exercise.generate import generate, to_date
from departure_screening.exercise.passenger_lists import hub, passenger_lists
from departure_screening.exercise.scenario import ScenarioError, load_scenario, parse_scenario
from departure_screening.paxlst import PassengerRecord, read_paxlst
from departure_screening.paxlst.airports import airport_country
from departure_screening.v1 import screening_pb2 as pb
from support.rpc import sample_value

from exercise.exercise_helpers import scenario_text, small_raw


def test_every_traveller_is_on_its_flights_list_with_what_api_carries() -> None:
    travellers = generate(load_scenario("festival-event-heads-up"), 5, 80)
    lists = passenger_lists(travellers)
    seen: set[int] = set()
    for plist in lists:
        [manifest] = read_paxlst(plist.data).manifests
        assert manifest.flight.departure_airport == plist.checkpoint
        assert len(manifest.passengers) == len(plist.travellers)
        for record, index in zip(manifest.passengers, plist.travellers, strict=True):
            assert isinstance(record, PassengerRecord)
            s = travellers[index].screening
            assert record.passport_number == s.traveller.passport_number
            assert record.birth_date == to_date(s.traveller.birth_date)
            assert record.passport_issue_date == to_date(s.traveller.passport_issue_date)
            assert record.destination_country == s.trip.destination_country
            assert record.booking_reference == s.trip.booking_reference
            assert (record.flight_number, record.departure_date) == (
                s.trip.flight_number,
                to_date(s.trip.departure_date),
            )
            seen.add(index)
    assert seen == set(range(len(travellers)))
    assert airport_country(hub("KH")) == "KH" and airport_country(hub("NZ")) == "NZ"


def test_heads_up_must_be_true_or_false() -> None:
    raw = small_raw()
    raw["heads_up"] = "yes"
    with pytest.raises(ScenarioError) as info:
        parse_scenario(scenario_text(raw), source="bad.yaml")
    assert "heads_up" in str(info.value)
    raw["heads_up"] = True
    assert parse_scenario(yaml.safe_dump(raw), source="ok.yaml").heads_up


def test_a_drill_shows_the_heads_up_list_beside_the_counter(
    grpc_server: InProcessServer, tmp_path: Path
) -> None:
    out = tmp_path / "debrief"
    done = subprocess.run(
        [
            sys.executable, "-m", "departure_screening", "exercise", "drill",
            "--scenario", "festival-event-heads-up", "--travellers", "3",
            "--target", grpc_server.target, "--trainee", "T07", "--out", str(out),
        ],
        input="2\n2\n2\n",
        capture_output=True,
        text=True,
        timeout=280,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    shown = " ".join(done.stdout.split())  # table cells wrap at the terminal's width
    assert shown.count("Heads-up list") == 3
    assert shown.count("from the passenger list") == 3
    assert shown.count("For examination at the counter, not a decision.") == 3
    lists = sorted((out / "headsup").glob("*/*/headsup.json"))
    assert lists, "no heads-up list written"
    documents = [json.loads(p.read_text()) for p in lists]
    assert sum(d["screened"] for d in documents) == 300  # the whole scenario's flights
    assert any(d["bookings"] for d in documents), "no shared booking among the groups"
    text = grpc_server.metrics_text()

    def counted(family: str, mode: str) -> float:
        return sum(
            sample_value(text, family, {"checkpoint": c, "mode": mode, "band": b})
            for c in ("CGK", "SUB")
            for b in ("low", "elevated", "high")
        )

    assert counted("depscreen_preliminary_screenings_total", "training") == 300
    assert counted("depscreen_preliminary_screenings_total", "live") == 0
    # The counter screenings supersede the heads-up entries of the travellers they screened.
    entry = documents[0]["travellers"][0]
    early = grpc_server.stub.GetAssessment(
        pb.GetAssessmentRequest(assessment_id=entry["assessment_id"])
    ).assessment
    assert early.stage == pb.STAGE_PRELIMINARY and early.mode == pb.MODE_TRAINING
    assert counted("depscreen_screenings_total", "training") >= 3
