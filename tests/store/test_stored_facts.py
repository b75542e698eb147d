"""Assessments keep the facts the rules saw; records written before that stay readable."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from departure_screening.store.codec import decode_assessment, encode_assessment
from departure_screening.store.factory import open_audit_store
from departure_screening.v1 import screening_pb2 as pb
from support.builders import screening
from support.servers import ServerProcess


def test_the_stored_body_keeps_pseudonymous_facts_and_no_passport_number(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    s = screening(
        trip__destination_country="KH", trip__escort_passport_number="E7654321",
        trip__has_return_ticket=False,
    )  # fmt: skip
    with ServerProcess(store=f"sqlite:///{db}") as server:
        a = server.stub().Screen(pb.ScreenRequest(screening=s)).assessment
    with sqlite3.connect(db) as conn:
        (body,) = conn.execute(
            "SELECT body FROM assessments WHERE assessment_id = ?", (a.assessment_id,)
        ).fetchone()
    stored = json.loads(body)
    assert stored["format"] == 2
    facts = stored["facts"]
    assert facts["destination_country"] == "KH" and facts["has_escort"] is True
    assert facts["has_return_ticket"] is False and facts["watchlist_weight"] == 20
    assert facts["departure_date"] == "2026-03-01"
    assert s.traveller.passport_number not in body and "E7654321" not in body
    assert decode_assessment(body).facts == facts
    store = open_audit_store(f"sqlite:///{db}")
    assert store.verify_chain().ok
    store.close()


def test_a_format_1_record_reads_without_facts_and_encodes_unchanged() -> None:
    old = {
        "format": 1, "assessment_id": "a1", "request_id": "r1", "checkpoint": "CGK",
        "mode": "MODE_LIVE", "score": 20, "band": "RISK_BAND_LOW",
        "recommended_action": "ACTION_PROCEED", "indicators": [],
        "ruleset_version": "imi-gr-1029-2017@1.0.0+abc",
        "group": {"group_key": "", "members_screened": 0},
        "assessed_at": "2026-03-01T08:00:00+00:00",
    }  # fmt: skip
    a = decode_assessment(json.dumps(old))
    assert a.facts is None and a.score == 20
    assert json.loads(encode_assessment(a))["facts"] is None
