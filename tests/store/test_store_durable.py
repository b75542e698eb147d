"""What only the durable stores (SQLite, PostgreSQL) promise: restarts, migrations,
the audit chain and purge."""

from __future__ import annotations

import argparse
import datetime as dt
import threading

import pytest
from departure_screening import audit
from departure_screening.errors import NotFound
from departure_screening.store.factory import open_store
from departure_screening.store.sqlbase import ChainBroken, SchemaError, SqlStore
from support.store_helpers import T0, WATCHLIST, WINDOWS, StoreKit, decide, keys, screen
from support.tamper import plain, query, tamper

NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def sql_store(kit: StoreKit) -> SqlStore:
    store = kit.open()
    assert isinstance(store, SqlStore)
    return store


def test_everything_survives_a_restart(durable_kit: StoreKit) -> None:
    store = durable_kit.open()
    m1 = screen(store, keys("P1", escort="E"))
    m2 = screen(store, keys("P2", escort="E"))
    d = decide(store, m1.assessment.assessment_id, "DECISION_POSTPONED")
    store.close()

    again = durable_kit.open()
    assert again.get_assessment(m1.assessment.assessment_id) == (m1.assessment, [d])
    # Same request id and content after the restart: the stored assessment.
    retry = screen(again, keys("P2", escort="E", request_id=m2.assessment.request_id))
    assert retry.replayed and retry.assessment == m2.assessment
    m3 = screen(again, keys("P3", escort="E"))
    assert m3.alert is not None
    assert m3.alert.earlier_assessment_ids == (
        m1.assessment.assessment_id,
        m2.assessment.assessment_id,
    )


def test_acknowledged_screenings_survive_kill_9(durable_kit: StoreKit) -> None:
    import multiprocessing
    import os
    import signal

    from support.store_workers import screen_until_killed

    sql_store(durable_kit).close()
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=screen_until_killed, args=(durable_kit.url, child))
    proc.start()
    acked = []
    try:
        while len(acked) < 60:
            assert parent.poll(60), "the child stopped acknowledging"
            acked.append(parent.recv())
        os.kill(proc.pid or 0, signal.SIGKILL)  # mid-way through the next screening
    finally:
        proc.join(30)
    assert proc.exitcode == -signal.SIGKILL
    while parent.poll(0):
        acked.append(parent.recv())
    store = sql_store(durable_kit)
    for request_id in acked:
        with store.screening(keys("K", request_id=request_id)) as tx:
            assert tx.existing() is not None, request_id
    report = store.verify_chain()
    assert report.ok, report.broken
    assert report.head.seq >= len(acked)


def test_sqlite_connections_are_durable(tmp_path: object) -> None:
    from departure_screening.store.sqlite import SqliteStore

    store = SqliteStore(f"{tmp_path}/d.db")
    with store._connection() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    store.close()


def test_migrations_are_idempotent(durable_kit: StoreKit) -> None:
    first = sql_store(durable_kit)
    assert first.applied_migrations == (1, 2, 3)
    second = sql_store(durable_kit)
    assert second.applied_migrations == ()
    rows = query(durable_kit.url, "SELECT version FROM schema_migrations ORDER BY version")
    assert rows == [(1,), (2,), (3,)]


def test_migrations_when_several_processes_start_at_once(durable_kit: StoreKit) -> None:
    results: list[tuple[int, ...]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def open_one() -> None:
        try:
            start.wait()
            store = open_store(durable_kit.url)
            results.append(store.applied_migrations)
            store.close()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == [(), (), (), (), (), (1, 2, 3)]


def test_a_newer_schema_is_refused(durable_kit: StoreKit) -> None:
    sql_store(durable_kit).close()
    plain(
        durable_kit.url,
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
        (99, "from the future", "2030-01-01"),
    )
    with pytest.raises(SchemaError, match="newer"):
        open_store(durable_kit.url)


def _some_history(store: SqlStore) -> list[str]:
    a1 = screen(store, keys("P1", escort="E"))
    a2 = screen(store, keys("P2", escort="E"))
    decide(store, a1.assessment.assessment_id, "DECISION_POSTPONED")
    a3 = screen(store, keys("P3", escort="E"))
    decide(store, a1.assessment.assessment_id, "DECISION_CLEARED_AFTER_INTERVIEW")
    return [a1.assessment.assessment_id, a2.assessment.assessment_id, a3.assessment.assessment_id]


def test_chain_verifies(durable_kit: StoreKit) -> None:
    store = sql_store(durable_kit)
    empty = store.verify_chain()
    assert empty.ok and empty.head.seq == 0
    _some_history(store)
    report = store.verify_chain()
    assert report.ok, report.broken
    assert (report.links_checked, report.records_checked, report.head.seq) == (5, 5, 5)


@pytest.mark.parametrize(
    ("sql", "table", "seq", "reason"),
    [
        (
            "UPDATE assessments SET body = replace(body, '\"score\":45', '\"score\":5')"
            " WHERE chain_seq = 2",
            "assessments",
            2,
            "altered",
        ),
        (
            "UPDATE assessments SET traveller_key = 'someone-else' WHERE chain_seq = 4",
            "assessments",
            4,
            "altered",
        ),
        (
            "UPDATE decisions SET decision = 'DECISION_CLEARED' WHERE chain_seq = 3",
            "decisions",
            3,
            "altered",
        ),
        ("DELETE FROM decisions WHERE chain_seq = 5", "decisions", 5, "missing"),
        ("DELETE FROM audit_chain WHERE seq = 3", "decisions", 3, "no link"),
        ("UPDATE audit_chain SET record_digest = 'x' WHERE seq = 2", "assessments", 2, "link hash"),
        ("UPDATE audit_chain SET purged = TRUE WHERE seq = 1", "assessments", 1, "no later purge"),
        ("UPDATE chain_state SET seq = 4 WHERE name = 'head'", "chain_head", 4, "head"),
    ],
)
def test_tampering_names_the_first_broken_link(
    durable_kit: StoreKit, sql: str, table: str, seq: int, reason: str
) -> None:
    store = sql_store(durable_kit)
    ids = _some_history(store)
    tamper(durable_kit.url, sql)
    report = store.verify_chain()
    assert report.broken is not None
    assert (report.broken.table, report.broken.seq) == (table, seq)
    assert reason in report.broken.reason
    # a1 (seq 1), a2 (2), decision on a1 (3), a3 (4), decision on a1 (5)
    record_ids = {1: ids[0], 2: ids[1], 3: ids[0], 4: ids[2], 5: ids[0]}
    if table in ("assessments", "decisions"):
        assert report.broken.record_id == record_ids[seq]
    # The CLI says the same and fails.
    rc, out = _cli(["audit", "verify", "--store", durable_kit.url])
    assert rc == 1
    assert f"{table} seq {seq}" in out


def test_a_forged_record_is_noticed(durable_kit: StoreKit) -> None:
    store = sql_store(durable_kit)
    _some_history(store)
    tamper(
        durable_kit.url,
        "INSERT INTO decisions (chain_seq, assessment_id, decision, officer_id, decided_at,"
        " body) SELECT 99, assessment_id, 'DECISION_REFERRED', 'x', assessed_at, body"
        " FROM assessments WHERE chain_seq = 1",
    )
    broken = store.verify_chain().broken
    assert broken is not None
    assert (broken.table, broken.seq, broken.reason) == ("decisions", 99, "record has no link")


def test_truncating_the_end_is_noticed(durable_kit: StoreKit) -> None:
    store = sql_store(durable_kit)
    _some_history(store)
    tamper(durable_kit.url, "DELETE FROM decisions WHERE chain_seq = 5")
    tamper(durable_kit.url, "DELETE FROM audit_chain WHERE seq = 5")
    broken = store.verify_chain().broken
    assert broken is not None
    assert broken.table == "chain_head"


def test_rows_are_append_only(durable_kit: StoreKit) -> None:
    store = sql_store(durable_kit)
    ids = _some_history(store)
    for sql in (
        "UPDATE assessments SET score_text = 1",  # not even a column; refused either way
        "UPDATE assessments SET body = body",
        "DELETE FROM decisions",
        "UPDATE audit_chain SET purged = TRUE",
        "DELETE FROM audit_chain",
    ):
        with pytest.raises(Exception):  # noqa: B017 - the driver's own error class
            plain(durable_kit.url, sql)
    assert store.verify_chain().ok
    assert store.get_assessment(ids[0])[0].assessment_id == ids[0]


def test_purge_keeps_the_chain_verifiable(durable_kit: StoreKit) -> None:
    store = sql_store(durable_kit)
    old = NOW - dt.timedelta(days=100)
    recent = NOW - dt.timedelta(days=5)
    a1 = screen(store, keys("P1", escort="E"), at=old)  # seq 1
    a2 = screen(store, keys("P2", escort="E"), at=recent)  # seq 2
    a3 = screen(store, keys("P3", escort="E"), at=old)  # seq 3 (raises the group alert)
    decide(store, a1.assessment.assessment_id, "DECISION_POSTPONED", at=NOW)  # seq 4
    a4 = screen(store, keys("P4"), at=NOW)  # seq 5
    assert a3.alert is not None

    dry = store.purge(NOW - dt.timedelta(days=30), dry_run=True)
    assert (dry.assessments, dry.decisions, dry.alerts, dry.links_folded) == (2, 1, 1, 0)
    assert store.get_assessment(a1.assessment.assessment_id)

    report = store.purge(NOW - dt.timedelta(days=30))
    assert (report.assessments, report.decisions, report.alerts) == (2, 1, 1)
    assert (report.anchor.seq, report.links_folded) == (1, 1)
    for gone in (a1, a3):
        with pytest.raises(NotFound):
            store.get_assessment(gone.assessment.assessment_id)
    assert store.get_assessment(a2.assessment.assessment_id) == (a2.assessment, [])
    check = store.verify_chain()
    assert check.ok, check.broken
    # Links 2..6 after the anchor: a2 and a4 live, a3 and the decision purged, the purge event.
    assert (check.anchor.seq, check.links_checked, check.records_checked) == (1, 5, 3)
    # Nothing personal stays behind for the purged records.
    assert query(
        durable_kit.url,
        "SELECT COUNT(*) FROM assessments WHERE traveller_key = ?",
        (keys("P1").traveller_key,),
    ) == [(0,)]

    # The chain goes on, and tampering after a purge is still noticed.
    a5 = screen(store, keys("P5", escort="E"), at=NOW)
    assert a5.history is not None
    assert a5.history.group_members == 2  # P2 and P5: purged members no longer count
    assert store.verify_chain().ok
    second = store.purge(NOW - dt.timedelta(days=1))
    assert (second.assessments, second.anchor.seq) == (1, 4)
    assert store.verify_chain().ok
    tamper(durable_kit.url, "UPDATE assessments SET body = body || ' ' WHERE chain_seq = 5")
    broken = store.verify_chain().broken
    assert broken is not None
    assert (broken.table, broken.seq, broken.record_id) == (
        "assessments",
        5,
        a4.assessment.assessment_id,
    )
    # Purge refuses a broken chain and removes nothing.
    with pytest.raises(ChainBroken):
        store.purge(NOW + dt.timedelta(days=1000))
    assert store.get_assessment(a5.assessment.assessment_id)


def test_purge_everything_then_continue(durable_kit: StoreKit) -> None:
    store = sql_store(durable_kit)
    _some_history(store)
    report = store.purge(T0 + dt.timedelta(days=1))
    assert (report.assessments, report.decisions, report.anchor.seq) == (3, 2, 5)
    # Only the purge event's own link is left.
    assert query(durable_kit.url, "SELECT seq, record_table FROM audit_chain") == [(6, "purges")]
    assert store.verify_chain().ok
    s = screen(store, keys("P9", escort="E"))
    assert s.history is not None and s.history.group_members == 1
    after = store.verify_chain()
    assert after.ok and after.head.seq == 7


def test_a_deletion_disguised_as_purge_is_noticed(durable_kit: StoreKit) -> None:
    store = sql_store(durable_kit)
    old = screen(store, keys("P1"), at=NOW - dt.timedelta(days=100))  # seq 1
    recent = screen(store, keys("P2"), at=NOW - dt.timedelta(days=5))  # seq 2
    store.purge(NOW - dt.timedelta(days=30))  # removes seq 1, event at seq 3
    screen(store, keys("P3"), at=NOW - dt.timedelta(days=200))  # seq 4
    assert store.verify_chain().ok
    with pytest.raises(NotFound):
        store.get_assessment(old.assessment.assessment_id)
    # A recent record deleted and its link marked purged: no purge covers it.
    tamper(durable_kit.url, "UPDATE audit_chain SET purged = TRUE WHERE seq = 2")
    tamper(durable_kit.url, "DELETE FROM assessments WHERE chain_seq = 2")
    broken = store.verify_chain().broken
    assert broken is not None
    assert (broken.table, broken.seq, broken.record_id) == (
        "assessments",
        2,
        recent.assessment.assessment_id,
    )
    assert "no later purge" in broken.reason


def test_an_old_record_after_the_last_purge_cannot_be_called_purged(
    durable_kit: StoreKit,
) -> None:
    store = sql_store(durable_kit)
    screen(store, keys("P1"), at=NOW - dt.timedelta(days=100))  # seq 1
    screen(store, keys("P2"), at=NOW)  # seq 2
    store.purge(NOW - dt.timedelta(days=30))  # event at seq 3
    late_old = screen(store, keys("P3"), at=NOW - dt.timedelta(days=200))  # seq 4
    tamper(durable_kit.url, "UPDATE audit_chain SET purged = TRUE WHERE seq = 4")
    tamper(durable_kit.url, "DELETE FROM assessments WHERE chain_seq = 4")
    broken = store.verify_chain().broken
    assert broken is not None
    assert (broken.table, broken.seq, broken.record_id) == (
        "assessments",
        4,
        late_old.assessment.assessment_id,
    )


def test_moving_the_anchor_is_noticed(durable_kit: StoreKit) -> None:
    store = sql_store(durable_kit)
    ids = _some_history(store)
    store.purge(T0 - dt.timedelta(days=1))  # nothing to remove; event at seq 6
    assert store.verify_chain().ok
    link2 = query(durable_kit.url, "SELECT hash FROM audit_chain WHERE seq = 2")[0][0]
    tamper(durable_kit.url, "DELETE FROM decisions WHERE chain_seq <= 2")
    tamper(
        durable_kit.url,
        "DELETE FROM assessments WHERE chain_seq <= 2 AND assessment_id <> ?",
        (ids[0],),
    )
    tamper(durable_kit.url, "DELETE FROM audit_chain WHERE seq <= 2")
    tamper(
        durable_kit.url, "UPDATE chain_state SET seq = 2, hash = ? WHERE name = 'anchor'", (link2,)
    )
    broken = store.verify_chain().broken
    assert broken is not None
    assert broken.table == "chain_anchor"


def test_audit_cli(durable_kit: StoreKit) -> None:
    store = sql_store(durable_kit)
    real_now = dt.datetime.now(dt.UTC)
    old = screen(store, keys("P1"), at=real_now - dt.timedelta(days=40))
    new = screen(store, keys("P2"), at=real_now)
    rc, out = _cli(["audit", "verify", "--store", durable_kit.url])
    assert rc == 0 and "audit chain ok: 2 links" in out
    rc, out = _cli(
        ["audit", "purge", "--store", durable_kit.url, "--older-than", "30", "--dry-run"]
    )
    assert rc == 0 and "would remove 1 assessments" in out
    rc, out = _cli(["audit", "purge", "--store", durable_kit.url, "--older-than", "30"])
    assert rc == 0 and "removed 1 assessments" in out
    with pytest.raises(NotFound):
        store.get_assessment(old.assessment.assessment_id)
    assert store.get_assessment(new.assessment.assessment_id)
    rc, out = _cli(["audit", "verify", "--store", durable_kit.url])
    assert rc == 0 and "audit chain ok: 2 links" in out  # the new assessment, the purge


def test_audit_cli_errors(tmp_path: object) -> None:
    rc, _ = _cli(["audit", "verify", "--store", "memory:"])
    assert rc == 2
    with pytest.raises(SystemExit):
        _cli(["audit", "purge", "--store", "memory:", "--older-than", "0"])


def test_history_queries_use_indexes(durable_kit: StoreKit) -> None:
    """The history reads stay index lookups as the store grows."""
    store = sql_store(durable_kit)
    for i in range(30):
        screen(store, keys(f"P{i}", escort=f"E{i % 3}"))
    k = keys("P1", escort="E1")
    with store.screening(k) as tx:
        tx.history(WATCHLIST, WINDOWS)
    if durable_kit.kind == "sqlite":
        plan = query(
            durable_kit.url,
            "EXPLAIN QUERY PLAN SELECT traveller_key, assessment_id FROM assessments"
            " WHERE group_key = ? AND group_key <> '' AND mode = ? AND traveller_key <> ?"
            " ORDER BY chain_seq",
            (k.group_key, k.mode, k.escort_key),
        )
        assert any("assessments_group" in str(r) for r in plan), plan
        plan = query(
            durable_kit.url,
            "EXPLAIN QUERY PLAN SELECT DISTINCT flight_number, departure_date"
            " FROM assessments WHERE escort_key = ? AND escort_key <> '' AND mode = ?"
            " AND departure_date BETWEEN ? AND ? AND destination_country IN (?, ?)",
            (k.escort_key, k.mode, "2026-01-01", "2026-02-28", "KH", "MM"),
        )
        assert any("assessments_escort" in str(r) for r in plan), plan
        plan = query(
            durable_kit.url,
            "EXPLAIN QUERY PLAN SELECT DISTINCT flight_number, departure_date"
            " FROM assessments WHERE traveller_key = ? AND mode = ?"
            " AND departure_date BETWEEN ? AND ?",
            (k.traveller_key, k.mode, "2026-01-01", "2026-02-28"),
        )
        assert any("assessments_traveller" in str(r) for r in plan), plan
    else:
        import psycopg

        # The tables are tiny here, so forbid sequential scans to see which index a
        # large table would use.
        with psycopg.connect(durable_kit.url) as pg:
            pg.execute("SET enable_seqscan = off")
            pg.execute("ANALYZE assessments")

            def plan(sql: str, params: tuple[object, ...]) -> str:
                rows = pg.execute("EXPLAIN " + sql, params).fetchall()
                return "\n".join(str(r[0]) for r in rows)

            assert "assessments_group" in plan(
                "SELECT traveller_key, assessment_id FROM assessments"
                " WHERE group_key = %s AND group_key <> '' AND mode = %s"
                " AND traveller_key <> %s ORDER BY chain_seq",
                (k.group_key, k.mode, k.escort_key),
            )
            assert "assessments_escort" in plan(
                "SELECT DISTINCT flight_number, departure_date FROM assessments"
                " WHERE escort_key = %s AND escort_key <> '' AND mode = %s"
                " AND departure_date BETWEEN %s AND %s AND destination_country IN (%s, %s)",
                (k.escort_key, k.mode, dt.date(2026, 1, 1), dt.date(2026, 2, 28), "KH", "MM"),
            )
            assert "assessments_traveller" in plan(
                "SELECT DISTINCT flight_number, departure_date FROM assessments"
                " WHERE traveller_key = %s AND mode = %s AND departure_date BETWEEN %s AND %s",
                (k.traveller_key, k.mode, dt.date(2026, 1, 1), dt.date(2026, 2, 28)),
            )
            assert "decisions_assessment" in plan(
                "SELECT body FROM decisions WHERE assessment_id = %s ORDER BY chain_seq", ("x",)
            )


def _cli(argv: list[str]) -> tuple[int, str]:
    import contextlib
    import io

    parser = argparse.ArgumentParser(prog="depscreen")
    sub = parser.add_subparsers(dest="command", required=True)
    audit.add_audit_parser(sub)
    args = parser.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = args.func(args)
    return int(rc), out.getvalue() + err.getvalue()
