"""Shadow results beside their assessments: chained, purged with them, absent from old stores."""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path

from departure_screening.screening.shadow import ShadowResult
from departure_screening.store.base import ReplayQuery
from departure_screening.store.factory import open_audit_store, open_store
from departure_screening.store.sqlbase import SqlStore
from support.store_helpers import T0, StoreKit, keys, screen


def shadow_of(assessment_id: str, band: str = "RISK_BAND_HIGH") -> ShadowResult:
    return ShadowResult(
        assessment_id, "imi-gr-1029-2017@2+0123456789ab", 65, band,
        "ACTION_POSTPONE_PENDING_VERIFICATION", ("DESTINATION_WATCHLIST",), T0,
    )  # fmt: skip


def test_shadow_results_are_chained_read_back_and_purged_with_their_assessment(
    durable_kit: StoreKit,
) -> None:
    store = durable_kit.open()
    assert isinstance(store, SqlStore)
    old = screen(store, keys("P1"), at=T0).assessment
    new = screen(store, keys("P2"), at=T0 + dt.timedelta(days=40)).assessment
    unshadowed = screen(store, keys("P3"), at=T0 + dt.timedelta(days=40)).assessment
    # One for an assessment that is not there (purged meanwhile, say) is dropped.
    store.save_shadows([shadow_of(old.assessment_id), shadow_of(new.assessment_id),
                        shadow_of("no-such-assessment")])  # fmt: skip
    report = store.verify_chain()
    assert report.ok and report.records_checked == 5
    by_id = {r.assessment.assessment_id: r.shadow for r in store.shadow_records(ReplayQuery())}
    assert by_id == {
        old.assessment_id: shadow_of(old.assessment_id),
        new.assessment_id: shadow_of(new.assessment_id),
        unshadowed.assessment_id: None,
    }
    purged = store.purge(T0 + dt.timedelta(days=1))
    assert purged.assessments == 1
    assert store.verify_chain().ok
    assert [r.assessment.assessment_id for r in store.shadow_records(ReplayQuery())] == [
        new.assessment_id,
        unshadowed.assessment_id,
    ]


def test_a_store_from_before_shadow_results_reads_verifies_and_upgrades(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    store = open_store(url)
    a = screen(store, keys("P1")).assessment
    store.close()
    with closing(sqlite3.connect(path)) as conn:  # the schema of the release before
        conn.execute("DROP TABLE shadow_results")
        conn.execute("DELETE FROM schema_migrations WHERE version = 3")
        conn.commit()
    audit = open_audit_store(url)  # read-only: not migrated
    try:
        assert audit.verify_chain().ok
        assert [r.shadow for r in audit.shadow_records(ReplayQuery())] == [None]
    finally:
        audit.close()
    upgraded = open_store(url)
    assert isinstance(upgraded, SqlStore) and upgraded.applied_migrations == (3,)
    upgraded.save_shadows([shadow_of(a.assessment_id)])
    assert upgraded.verify_chain().ok
    upgraded.close()
