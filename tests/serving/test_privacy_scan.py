"""Clear passport numbers never reach the store files, the logs or /metrics."""

from __future__ import annotations

from pathlib import Path

import grpc
from departure_screening.v1 import screening_pb2 as pb
from support.builders import screening
from support.servers import ServerProcess

PASSPORTS = ["C7301234", "X9912877", "PQ55501<"]
ESCORT = "E4242424"


def test_no_clear_passport_number_anywhere(tmp_path: Path) -> None:
    db = tmp_path / "depscreen.db"
    with ServerProcess(store=f"sqlite:///{db}") as server:
        stub = server.stub()
        ids = []
        for number in PASSPORTS:
            s = screening(
                traveller__passport_number=number,
                trip__escort_passport_number=ESCORT,
                trip__destination_country="KH",
                observations=[pb.OBSERVATION_ACCOMPANIED_BY_RECRUITER],
            )
            ids.append(stub.Screen(pb.ScreenRequest(screening=s)).assessment.assessment_id)
        stub.RecordDecision(
            pb.RecordDecisionRequest(
                assessment_id=ids[0], officer_id="o1", decision=pb.DECISION_POSTPONED, note="papers"
            )
        )
        bad = screening(traveller__passport_number=PASSPORTS[0], trip__destination_country="??")
        try:
            stub.Screen(pb.ScreenRequest(screening=bad))
        except grpc.RpcError as error:
            assert PASSPORTS[0] not in str(error)
        list(stub.ScreenManifest(iter([pb.ScreenManifestRequest(screening=bad)])))
        texts = {"metrics": server.metrics_text()}
        for assessment_id in ids:
            texts[assessment_id] = str(
                stub.GetAssessment(pb.GetAssessmentRequest(assessment_id=assessment_id))
            )
    texts["log"] = server.log()
    files = [p for p in tmp_path.iterdir() if p.is_file()]
    assert any(p.name == "depscreen.db" for p in files)
    for path in files:
        texts[path.name] = path.read_bytes().decode("latin-1")
    for number in [*PASSPORTS, ESCORT]:
        leaks = [where for where, text in texts.items() if number in text]
        assert not leaks, f"{number} found in {leaks}"
