"""``depscreen manifest screen`` against a real server on loopback: the heads-up files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import InProcessServer
from departure_screening.cli import main
from departure_screening.paxlst.generate import generate
from departure_screening.v1 import screening_pb2 as pb
from support.builders import screening
from support.paxlst_builder import interchange, message, one, passenger
from support.rpc import sample_value

RECRUITS = [
    passenger("WIJAYA:RINA", number=f"R100000{n}", booking="PNH777", final="PNH", debark="KUL")
    for n in range(3)
]
ALONE = passenger("SANTOSO:AGUS", number="C1234567", booking="SOLO11", final="KUL")


def run(server: InProcessServer, out: Path, *files: Path, mode: str = "live") -> int:
    argv = ["manifest", "screen", *map(str, files), "--checkpoint", "CGK", "--mode", mode]
    return main([*argv, "--target", server.target, "--out", str(out), "--json"])


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def headsup(out: Path, flight: str = "GA820-2026-03-12") -> dict:  # type: ignore[type-arg]
    return json.loads((out / flight / "headsup.json").read_text())  # type: ignore[no-any-return]


def preliminaries(server: InProcessServer) -> float:
    text = server.metrics_text()
    return sum(
        sample_value(
            text,
            "depscreen_preliminary_screenings_total",
            {"checkpoint": "CGK", "mode": "live", "band": band},
        )
        for band in ("low", "elevated", "high")
    )


def test_a_shared_booking_is_grouped_and_every_view_says_not_a_decision(
    grpc_server: InProcessServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path, "ga820.edi", one(*RECRUITS, ALONE))
    assert run(grpc_server, tmp_path / "out", file) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["flights"][0]["shared_bookings"] == 1
    doc = headsup(tmp_path / "out")
    assert (doc["flight"], doc["departure_date"], doc["checkpoint"]) == (
        "GA820",
        "2026-03-12",
        "CGK",
    )
    assert (doc["passengers"], doc["screened"], doc["rejected"]) == (4, 4, [])
    assert doc["bands"] == {"LOW": 4, "ELEVATED": 0, "HIGH": 0}
    [booking] = doc["bookings"]
    assert booking["booking_reference"] == "PNH777"
    assert [m["passport"] for m in booking["members"]] == ["*****000", "*****001", "*****002"]
    by_passport = {t["passport"]: t for t in doc["travellers"]}
    assert by_passport["*****000"]["fired"] == ["DESTINATION_WATCHLIST"]
    assert by_passport["*****567"]["fired"] == []
    assert "NO_RETURN_TICKET" in by_passport["*****567"]["not_evaluated"]
    assert "for examination at the counter, not a decision" in doc["notice"].lower()
    page = (tmp_path / "out" / "GA820-2026-03-12" / "headsup.html").read_text()
    assert "For examination at the counter, not a decision." in page
    banner = page.index("For examination at the counter, not a decision.")
    assert banner < page.index("<table") < page.index("<h3>PNH777</h3>")
    rows = list(csv.DictReader((tmp_path / "out" / "GA820-2026-03-12" / "headsup.csv").open()))
    assert {r["assessment_id"] for r in rows} == {t["assessment_id"] for t in doc["travellers"]}
    for written in (tmp_path / "out" / "GA820-2026-03-12").iterdir():
        text = written.read_text()
        for p in ("R1000000", "R1000001", "R1000002", "C1234567", "WIJAYA", "SANTOSO"):
            assert p not in text, (written.name, p)
    # Each traveller's assessment is a stored preliminary one.
    for t in doc["travellers"]:
        a = grpc_server.stub.GetAssessment(
            pb.GetAssessmentRequest(assessment_id=t["assessment_id"])
        ).assessment
        assert a.stage == pb.STAGE_PRELIMINARY
        assert a.recommended_action != pb.ACTION_POSTPONE_PENDING_VERIFICATION
    assert preliminaries(grpc_server) == 4


def test_the_same_file_again_is_a_retry(grpc_server: InProcessServer, tmp_path: Path) -> None:
    file = write(tmp_path, "ga820.edi", one(*RECRUITS))
    assert run(grpc_server, tmp_path / "a", file) == 0
    assert run(grpc_server, tmp_path / "b", file) == 0
    first, second = headsup(tmp_path / "a"), headsup(tmp_path / "b")
    assert first["travellers"] == second["travellers"]
    assert preliminaries(grpc_server) == 3


def test_passengers_without_a_passport_are_rejected_one_by_one(
    grpc_server: InProcessServer, tmp_path: Path
) -> None:
    people = [
        passenger(number="C1000001"),
        passenger(doc="V", number="V2000002"),  # a visa, no passport document
        passenger(number="C1000003", nat="XXX"),  # a nationality the reader cannot map
        passenger(number="C10000000000000000004"),  # 21 characters: the contract refuses it
        passenger(number="C1000005"),
    ]
    file = write(tmp_path, "mixed.edi", one(*people))
    assert run(grpc_server, tmp_path / "out", file) == 0
    doc = headsup(tmp_path / "out")
    assert doc["passengers"] == 5
    assert sorted(t["passport"] for t in doc["travellers"]) == ["*****001", "*****005"]
    reasons = {r["ordinal"]: r["reason"] for r in doc["rejected"]}
    assert sorted(reasons) == [2, 3, 4]
    assert "passport" in reasons[2].lower()
    assert "screening.traveller.passport_number" in reasons[4]
    for reason in reasons.values():
        assert "C100000" not in reason and "V2000002" not in reason
    assert preliminaries(grpc_server) == 2


def test_a_syntax_error_names_the_segment_and_screens_nothing_of_that_file(
    grpc_server: InProcessServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = one(*RECRUITS).replace(b"ATT+2++M'", b"AT+2++M'", 1)
    bad = write(tmp_path, "broken.edi", broken)
    good_flight = [s.replace("GA820", "GA821") for s in message(ALONE)]
    good = write(tmp_path, "good.edi", interchange(good_flight))
    assert run(grpc_server, tmp_path / "out", bad, good) == 2
    err = capsys.readouterr().err
    offset = broken.index(b"AT+2++M'")
    assert "broken.edi: " in err and "segment AT+" in err and f"at byte {offset}" in err
    assert "nothing of this file was screened" in err
    assert not (tmp_path / "out" / "GA820-2026-03-12").exists()
    assert headsup(tmp_path / "out", "GA821-2026-03-12")["screened"] == 1
    assert preliminaries(grpc_server) == 1


def test_the_counter_screening_supersedes_the_heads_up(
    grpc_server: InProcessServer, tmp_path: Path
) -> None:
    file = write(tmp_path, "ga820.edi", one(*RECRUITS))
    assert run(grpc_server, tmp_path / "out", file) == 0
    listed = {t["passport"]: t["assessment_id"] for t in headsup(tmp_path / "out")["travellers"]}
    at_counter = screening(
        traveller__passport_number="R1000001",
        traveller__birth_date="1985-04-12",
        trip__flight_number="GA820",
        trip__departure_date="2026-03-12",
        trip__destination_country="KH",
    )
    a = grpc_server.stub.Screen(pb.ScreenRequest(screening=at_counter)).assessment
    assert a.supersedes == listed["*****001"]


def test_a_generated_flight_with_crew_lists(
    grpc_server: InProcessServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    g = generate(seed=11, passengers=40)
    file = write(tmp_path, "generated.edi", g.data)
    assert run(grpc_server, tmp_path / "out", file, mode="training") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["crew_lists_skipped"] == g.crew_lists
    doc = headsup(tmp_path / "out", f"{g.flight_number}-{g.departure_date.isoformat()}")
    assert doc["passengers"] == 40
    assert doc["screened"] + len(doc["rejected"]) == 40
    expected_rejected = sum(1 for p in g.passengers if p.rejected)
    assert len(doc["rejected"]) == expected_rejected
