"""Decision request ids in the stores, and stores from before them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from departure_screening.domain import DecisionRecord
from departure_screening.errors import AlreadyExists
from departure_screening.store.factory import open_audit_store, open_store
from departure_screening.store.sqlbase import SqlStore
from support.store_helpers import T0, StoreKit, decide, keys, screen


def test_a_decision_request_id_replays_or_conflicts(kit: StoreKit) -> None:
    store = kit.open()
    a = screen(store, keys("P1")).assessment
    record = DecisionRecord(
        a.assessment_id, "DECISION_POSTPONED", "off-7", "n", T0, request_id="dec-1"
    )
    first = store.decide(record, "f1:x")
    assert not first.replayed and first.decision == record
    later = dataclasses.replace(record, decided_at=T0 + dt.timedelta(minutes=1))
    again = store.decide(later, "f1:x")
    assert again.replayed and again.decision == record and again.assessment == a
    with pytest.raises(AlreadyExists):
        store.decide(dataclasses.replace(record, note="other"), "f1:y")
    assert store.get_assessment(a.assessment_id)[1] == [record]
    if kit.durable:  # the same after a restart
        assert kit.open().decide(later, "f1:x").decision == record


def test_a_store_from_before_decision_request_ids_verifies_and_upgrades(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    store = open_store(url)
    a = screen(store, keys("P1")).assessment
    decide(store, a.assessment_id, "DECISION_POSTPONED")
    store.close()
    # Back to the schema of the release before: what its stores hold.
    with closing(sqlite3.connect(path)) as conn:
        for statement in (
            "DROP INDEX decisions_request_id",
            "ALTER TABLE decisions DROP COLUMN request_id",
            "ALTER TABLE decisions DROP COLUMN fingerprint",
            "DELETE FROM schema_migrations WHERE version = 2",
        ):
            conn.execute(statement)
        conn.commit()
    audit = open_audit_store(url)  # read-only: not migrated
    assert audit.verify_chain().ok
    audit.close()
    upgraded = open_store(url)
    assert isinstance(upgraded, SqlStore) and upgraded.applied_migrations == (2,)
    upgraded.decide(
        DecisionRecord(a.assessment_id, "DECISION_CLEARED", "off-7", "", T0, request_id="dec-9"),
        "f1:z",
    )
    decide(upgraded, a.assessment_id, "DECISION_REFERRED")
    report = upgraded.verify_chain()
    assert report.ok and report.records_checked == 4
