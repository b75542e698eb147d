"""Direct SQL on a store's database, as someone bypassing the service would run it.

The append-only triggers are switched off first (dropped on SQLite, disabled on
PostgreSQL): the point is to prove that the hash chain still notices.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

from departure_screening.store.factory import SQLITE, parse_store_url

_TABLES = ("assessments", "decisions", "audit_chain")


def tamper(url: str, sql: str, params: tuple[Any, ...] = ()) -> None:
    where = parse_store_url(url)
    if where.kind == SQLITE:
        with closing(sqlite3.connect(where.target)) as conn:
            names = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ]
            for name in names:
                conn.execute(f"DROP TRIGGER {name}")
            conn.execute("PRAGMA foreign_keys=OFF")
            conn.execute(sql, params)
            conn.commit()
        return
    import psycopg

    with psycopg.connect(where.target) as pg:
        for table in _TABLES:
            pg.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        pg.execute(sql.replace("?", "%s"), params or None)
        for table in _TABLES:
            pg.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def query(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    where = parse_store_url(url)
    if where.kind == SQLITE:
        with closing(sqlite3.connect(where.target)) as conn:
            return [tuple(r) for r in conn.execute(sql, params).fetchall()]
    import psycopg

    with psycopg.connect(where.target) as pg:
        return [tuple(r) for r in pg.execute(sql.replace("?", "%s"), params or None).fetchall()]


def plain(url: str, sql: str, params: tuple[Any, ...] = ()) -> None:
    """Direct SQL with the triggers in place (expected to be refused)."""
    where = parse_store_url(url)
    if where.kind == SQLITE:
        with closing(sqlite3.connect(where.target)) as conn:
            conn.execute(sql, params)
            conn.commit()
        return
    import psycopg

    with psycopg.connect(where.target) as pg:
        pg.execute(sql.replace("?", "%s"), params or None)
