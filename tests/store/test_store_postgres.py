"""PostgreSQL only: outages and recovery, alerts across replicas."""

from __future__ import annotations

import datetime as dt
import queue
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
import pytest
from departure_screening.domain import GroupAlert
from departure_screening.errors import StoreUnavailable
from departure_screening.screening.alerts import AlertHub
from departure_screening.screening.ruleset import ContextWindows
from departure_screening.store.postgres import PostgresStore
from support.postgres import PostgresCluster
from support.store_helpers import T0, decide, keys, raise_group_alert, screen

T = TypeVar("T")


def eventually(action: Callable[[], T], timeout: float = 45.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return action()
        except StoreUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def next_alert(q: queue.SimpleQueue[GroupAlert], timeout: float = 10.0) -> GroupAlert:
    return q.get(timeout=timeout)


def test_outage_then_recovery_without_reopening(outage_db: tuple[PostgresCluster, str]) -> None:
    cluster, url = outage_db
    hub_a, hub_b = AlertHub(), AlertHub()
    a = PostgresStore(url, hub_a, timeout=2.0, connect_timeout=2)
    b = PostgresStore(url, hub_b, timeout=2.0, connect_timeout=2)
    try:
        first = screen(a, keys("P1"))
        cluster.stop("immediate")  # like a crash: no goodbye to the clients

        t0 = time.monotonic()
        with pytest.raises(StoreUnavailable):
            screen(a, keys("P2"))
        with pytest.raises(StoreUnavailable):
            a.check()
        with pytest.raises(StoreUnavailable):
            a.get_assessment(first.assessment.assessment_id)
        with pytest.raises(StoreUnavailable):
            decide(a, first.assessment.assessment_id, "DECISION_CLEARED")
        assert time.monotonic() - t0 < 30, "an outage must be reported promptly"

        cluster.start()
        eventually(a.check)
        eventually(lambda: screen(a, keys("P3")))
        got, _ = a.get_assessment(first.assessment.assessment_id)
        assert got == first.assessment
        # Nothing of the failed screening was stored; the retry screens afresh.
        again = screen(a, keys("P2", request_id="after-outage"))
        assert not again.replayed

        # Both listeners reconnect: an alert raised on one replica reaches the other.
        assert a.wait_listening(30) and b.wait_listening(30)
        with hub_a.subscribe("CGK", "MODE_LIVE") as qa, hub_b.subscribe("CGK", "MODE_LIVE") as qb:
            alert = raise_group_alert(a, "ESC-AFTER")
            assert next_alert(qa) == alert
            assert next_alert(qb) == alert
            # Exactly once: the next alert either watcher gets is the next one raised.
            second = raise_group_alert(a, "ESC-AFTER-2")
            assert next_alert(qa) == second
            assert next_alert(qb) == second
        assert a.verify_chain().ok
    finally:
        a.close()
        b.close()


def test_store_refuses_to_open_while_the_database_is_down(
    outage_db: tuple[PostgresCluster, str],
) -> None:
    cluster, url = outage_db
    cluster.stop("fast")
    with pytest.raises(StoreUnavailable):
        PostgresStore(url, timeout=1.0, connect_timeout=2)


def test_listener_reconnects_after_its_connection_is_killed(pg_database: str) -> None:
    hub = AlertHub()
    listener = PostgresStore(pg_database, hub)
    raiser = PostgresStore(pg_database)
    try:
        with psycopg.connect(pg_database, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND query LIKE 'LISTEN%%'"
                " AND pid <> pg_backend_pid()"
            )
        # The listener notices that its connection is gone, then comes back.
        deadline = time.monotonic() + 30
        while listener.wait_listening(0):
            assert time.monotonic() < deadline, "the listener never noticed"
            time.sleep(0.01)
        assert listener.wait_listening(30)
        with hub.subscribe("CGK", "MODE_LIVE") as q:
            # The listener may come back just after this alert is sent; try again then.
            deadline = time.monotonic() + 30
            n = 0
            while True:
                alert = raise_group_alert(raiser, f"ESC-{n}")
                try:
                    assert next_alert(q, timeout=3) == alert
                    break
                except queue.Empty:
                    if time.monotonic() > deadline:
                        raise
                    n += 1
    finally:
        listener.close()
        raiser.close()


def test_a_large_alert_reaches_other_replicas_by_reference(pg_database: str) -> None:
    hub = AlertHub()
    other = PostgresStore(pg_database, hub)
    raiser = PostgresStore(pg_database)
    big = ContextWindows(
        escort_window_days=90, postponement_window_days=365, group_alert_members=260
    )
    try:
        with hub.subscribe("CGK", "MODE_LIVE") as q:
            for n in range(260):
                s = screen(raiser, keys(f"BIG{n}", escort="BIGESC"), windows=big)
            assert s.alert is not None
            assert len(s.alert.earlier_assessment_ids) == 259
            assert next_alert(q) == s.alert
    finally:
        other.close()
        raiser.close()


def test_commits_are_synchronous_even_if_the_server_default_is_not(pg_database: str) -> None:
    with psycopg.connect(pg_database, autocommit=True) as admin:
        dbname = admin.execute("SELECT current_database()").fetchone()
        assert dbname is not None
        admin.execute(f'ALTER DATABASE "{dbname[0]}" SET synchronous_commit = off')
    store = PostgresStore(pg_database)
    try:
        with store._pool.connection() as conn:
            row = conn.execute("SHOW synchronous_commit").fetchone()
        assert row is not None and row[0] == "on"
    finally:
        store.close()


def test_a_stuck_group_lock_times_out_as_unavailable(pg_database: str) -> None:
    from departure_screening.store.postgres import lock_id

    store = PostgresStore(pg_database, lock_timeout=1.0)
    k = keys("P1", escort="STUCK")
    try:
        with psycopg.connect(pg_database) as holder:
            holder.execute("SELECT pg_advisory_xact_lock(%s)", (lock_id("group:" + k.group_key),))
            t0 = time.monotonic()
            with pytest.raises(StoreUnavailable):
                screen(store, k)
            assert 0.9 < time.monotonic() - t0 < 10
            other = screen(store, keys("P2", escort="NOT-STUCK"))  # other groups go on
            assert other.assessment.group.members_screened == 1
        assert screen(store, k).assessment.group.members_screened == 1
    finally:
        store.close()


def test_database_errors_are_unavailable_not_silent(pg_database: str) -> None:
    store = PostgresStore(pg_database)
    try:
        screen(store, keys("P1"))
        with psycopg.connect(pg_database, autocommit=True) as admin:
            admin.execute("ALTER TABLE assessments RENAME TO assessments_moved")
        with pytest.raises(StoreUnavailable):
            screen(store, keys("P2"))
        with pytest.raises(StoreUnavailable):
            store.get_assessment("x")
        with psycopg.connect(pg_database, autocommit=True) as admin:
            admin.execute("ALTER TABLE assessments_moved RENAME TO assessments")
        assert screen(store, keys("P3")).assessment
        decide(
            store,
            screen(store, keys("P4")).assessment.assessment_id,
            "DECISION_CLEARED",
            at=T0 + dt.timedelta(seconds=1),
        )
    finally:
        store.close()
