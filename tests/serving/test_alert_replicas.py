"""Alerts across two server processes on one PostgreSQL: raised on one replica, seen on
the other, resumed on either, and none missed while PostgreSQL restarts."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from departure_screening.v1 import screening_pb2 as pb
from support.consoles import Console, raise_alert
from support.postgres import PostgresCluster, dbname_of, with_dbname
from support.servers import ServerProcess


def start_replicas(db: str) -> list[ServerProcess]:
    key = {"DEPSCREEN_PSEUDONYM_KEY": secrets.token_hex(32)}
    return [ServerProcess(store=db, env=key).start(), ServerProcess(store=db, env=key).start()]


def stop(servers: list[ServerProcess]) -> None:
    for server in servers:
        if server.proc and server.proc.poll() is None:
            server.terminate()


@pytest.fixture
def replicas(pg_database: str) -> Iterator[list[ServerProcess]]:
    servers = start_replicas(pg_database)
    try:
        yield servers
    finally:
        stop(servers)


def keys_of(alerts: list[pb.Alert]) -> list[str]:
    return [a.group_key for a in alerts]


def test_an_alert_raised_on_one_replica_reaches_a_console_on_the_other(
    replicas: list[ServerProcess],
) -> None:
    a, b = (r.stub() for r in replicas)
    on_b = Console(b)
    groups = [raise_alert(a), raise_alert(b), raise_alert(a)]
    got = on_b.wait_for(3)
    on_b.close()
    assert keys_of(got) == groups
    assert [x.alert_id for x in got] == sorted({x.alert_id for x in got})


def test_a_console_resumes_on_the_other_replica_without_gap_or_duplicate(
    replicas: list[ServerProcess],
) -> None:
    a, b = (r.stub() for r in replicas)
    on_b = Console(b)
    groups = [raise_alert(a)]
    seen = on_b.wait_for(1)
    on_b.close()
    groups += [raise_alert(a), raise_alert(b)]  # while the console is away
    on_a = Console(a, after_alert_id=seen[-1].alert_id)
    groups.append(raise_alert(b))  # live, raised on the other replica
    rest = on_a.wait_for(3)
    on_a.close()
    assert keys_of(seen + rest) == groups


def test_no_alert_is_missed_while_postgresql_restarts(
    outage_db: tuple[PostgresCluster, str],
) -> None:
    # The private cluster, never an outside server: this test restarts it.
    cluster, db = outage_db
    servers = start_replicas(db)
    try:
        a, b = (r.stub() for r in servers)
        on_b = Console(b)
        groups = [raise_alert(a)]
        on_b.wait_for(1)
        for _ in range(2):
            cluster.stop("immediate")
            cluster.start()
            # At once, while replica B's listener is still reconnecting.
            groups += [raise_alert(a), raise_alert(a)]
        got = on_b.wait_for(len(groups), timeout=60)
        assert on_b.ended is None, "the console's stream outlives the restarts"
        on_b.close()
        assert keys_of(got) == groups
        assert len({x.alert_id for x in got}) == len(groups)
    finally:
        stop(servers)


def test_alerts_raised_while_the_listeners_reconnect_are_not_missed(
    replicas: list[ServerProcess], pg_database: str
) -> None:
    a, b = (r.stub() for r in replicas)
    on_b = Console(b)
    groups = [raise_alert(a)]
    on_b.wait_for(1)
    name = dbname_of(pg_database)
    with psycopg.connect(with_dbname(pg_database, "postgres"), autocommit=True) as admin:
        # The replicas' pools keep the connections they have; a listener that loses its
        # connection cannot get a new one until the database takes connections again.
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        try:
            listeners = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"
                " AND query IN ('LISTEN depscreen_alerts', 'SELECT 1')",
                (name,),
            ).fetchall()
            assert len(listeners) == 2, "one listener per replica"
            groups += [raise_alert(a), raise_alert(a)]
        finally:
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
    groups.append(raise_alert(a))
    got = on_b.wait_for(len(groups), timeout=60)
    on_b.close()
    assert keys_of(got) == groups
