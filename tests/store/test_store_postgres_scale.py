"""PostgreSQL at scale: locks per group, not per request; SQL text with ? and %."""

from __future__ import annotations

import threading

import psycopg
from departure_screening.api.convert import screening_from_pb
from departure_screening.pipeline.screener import Screener
from departure_screening.screening.ruleset import Ruleset
from departure_screening.store.postgres import PostgresStore, placeholders
from departure_screening.store.sqlbase import SqlStore
from hypothesis import given
from hypothesis import strategies as st
from support.builders import screening
from support.store_helpers import PSEUDO, assessment, keys


def test_placeholders_leave_quoted_text_and_comments_alone() -> None:
    sql = "SELECT '?', 'a%b', ?, \"x?\" -- why?%\n, $$ ? $$, x LIKE 'c%' AND y = ? % 2"
    assert placeholders(sql) == (
        "SELECT '?', 'a%%b', %s, \"x?\" -- why?%%\n, $$ ? $$, x LIKE 'c%%' AND y = %s %% 2"
    )
    assert placeholders("SELECT 'it''s ?', ?") == "SELECT 'it''s ?', %s"


@given(st.text(alphabet="?%'ab ", max_size=30))
def test_every_bare_question_mark_is_one_placeholder(literal: str) -> None:
    quoted = "'" + literal.replace("'", "''") + "'"
    out = placeholders(f"SELECT {quoted}, ?")
    assert out == f"SELECT {quoted.replace('%', '%%')}, %s"


def test_a_literal_question_mark_and_percent_reach_postgresql(pg_database: str) -> None:
    store = PostgresStore(pg_database, listen=False)
    try:
        with store._transaction(write=False) as db:
            assert db.one("SELECT '?' || ?, 'x%' LIKE 'x%', ? % 3", ("a", 7)) == ("?a", True, 1)
    finally:
        store.close()


def test_a_500_item_manifest_takes_locks_per_group_only(pg_database: str) -> None:
    store = PostgresStore(pg_database, listen=False)
    groups = ["E1", "E2", "E3"]
    batch = [keys(f"P{n:04d}", escort=groups[n % 3] if n % 5 == 0 else "") for n in range(500)]
    try:
        with store.screenings(batch) as txs, psycopg.connect(pg_database) as watcher:
            (advisory,) = watcher.execute(
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory'"
            ).fetchone() or (None,)
            for k, tx in zip(batch, txs, strict=True):
                tx.save(assessment(k), None)
        assert advisory == len(groups)
    finally:
        store.close()


def test_a_retry_racing_its_original_without_a_group_replays(
    pg_database: str, ruleset: Ruleset
) -> None:
    stores = [PostgresStore(pg_database, listen=False) for _ in range(2)]
    try:
        screeners = [Screener(ruleset, s, PSEUDO) for s in stores]
        for round_ in range(15):
            s = screening_from_pb(screening(request_id=f"race-{round_}"))
            got: list[object] = [None, None]
            go = threading.Barrier(2)

            def run(
                i: int, s: object = s, got: list[object] = got, go: threading.Barrier = go
            ) -> None:
                go.wait()
                got[i] = screeners[i].screen(s)  # type: ignore[arg-type]

            threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert sorted(g.replayed for g in got) == [False, True]  # type: ignore[attr-defined]
            assert got[0].assessment == got[1].assessment  # type: ignore[attr-defined]
        assert isinstance(stores[0], SqlStore) and stores[0].verify_chain().ok
    finally:
        for s in stores:
            s.close()
