"""``audit backup`` copies every table of either store into a SQLite file that verifies."""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from departure_screening.store.backup import BackupExists, backup_store
from departure_screening.store.factory import open_audit_store, open_store
from departure_screening.store.sqlbase import SqlStore
from support.store_helpers import StoreKit, decide, keys, raise_group_alert, screen
from support.tamper import tamper

OLD = dt.datetime(2025, 1, 10, 9, 0, 0, 654321, tzinfo=dt.UTC)
RECENT = dt.datetime(2026, 2, 27, 8, 30, 0, 123456, tzinfo=dt.UTC)


def table_rows(copy: Path, table: str) -> int:
    with closing(sqlite3.connect(copy)) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_a_purged_store_with_decisions_and_alerts_is_copied_whole(
    durable_kit: StoreKit, tmp_path: Path
) -> None:
    store = durable_kit.open()
    assert isinstance(store, SqlStore)
    old = [screen(store, keys(f"OLD{i}"), at=OLD).assessment for i in range(5)]
    decide(store, old[0].assessment_id, "DECISION_POSTPONED", at=OLD)
    recent = [screen(store, keys(f"NEW{i}"), at=RECENT).assessment for i in range(4)]
    decide(store, recent[1].assessment_id, "DECISION_CLEARED", note="ticket shown", at=RECENT)
    raise_group_alert(store, "ESCORT1")
    purged = store.purge(RECENT - dt.timedelta(days=30))
    assert purged.assessments == 5 and purged.links_folded > 0  # an anchor to carry over
    source = store.verify_chain()

    report = backup_store(durable_kit.url, tmp_path / "copy.db")

    assert report.verify.ok, report.verify.broken
    assert (report.verify.anchor, report.verify.head) == (source.anchor, source.head)
    assert report.verify.records_checked == source.records_checked
    copy = open_store(f"sqlite:///{tmp_path / 'copy.db'}")
    try:
        for a in recent:
            got, decisions = copy.get_assessment(a.assessment_id)
            assert got == a
            assert [d.note for d in decisions] == (["ticket shown"] if a is recent[1] else [])
    finally:
        copy.close()
    assert (tmp_path / "copy.db").stat().st_mode & 0o777 == 0o600
    assert table_rows(tmp_path / "copy.db", "group_alerts") == 1
    assert table_rows(tmp_path / "copy.db", "purges") == 1


def test_an_existing_file_is_never_replaced(durable_kit: StoreKit, tmp_path: Path) -> None:
    store = durable_kit.open()
    screen(store, keys("P1"))
    out = tmp_path / "copy.db"
    out.write_bytes(b"yesterday's backup")
    with pytest.raises(BackupExists):
        backup_store(durable_kit.url, out)
    assert out.read_bytes() == b"yesterday's backup"
    assert sorted(p.name for p in tmp_path.iterdir() if "copy" in p.name) == ["copy.db"]


def test_a_missing_directory_is_refused_and_nothing_is_written(
    durable_kit: StoreKit, tmp_path: Path
) -> None:
    durable_kit.open()
    with pytest.raises(ValueError, match="no such directory"):
        backup_store(durable_kit.url, tmp_path / "no" / "copy.db")
    assert not (tmp_path / "no").exists()


def test_a_broken_chain_is_copied_as_it_is_and_reported(
    durable_kit: StoreKit, tmp_path: Path
) -> None:
    store = durable_kit.open()
    first = screen(store, keys("P1")).assessment
    screen(store, keys("P2"))
    tamper(
        durable_kit.url,
        "UPDATE assessments SET checkpoint = 'DPS' WHERE assessment_id = ?",
        (first.assessment_id,),
    )
    report = backup_store(durable_kit.url, tmp_path / "copy.db")
    assert not report.verify.ok
    assert report.verify.broken is not None
    assert report.verify.broken.record_id == first.assessment_id
    audit = open_audit_store(f"sqlite:///{tmp_path / 'copy.db'}")
    try:
        assert audit.verify_chain().broken == report.verify.broken
    finally:
        audit.close()
