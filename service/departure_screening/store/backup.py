"""Online, consistent copies of a durable store into one SQLite file.

A SQLite store is copied with SQLite's own backup API in a single step: the whole
database is read in one read transaction, so the copy is one snapshot, and the
WAL lets the server go on committing meanwhile. A PostgreSQL store is read in one
REPEATABLE READ, READ ONLY transaction (one snapshot, no lock that a screening
waits for) into a fresh SQLite store of this release's schema; instants and dates
are written as the SQLite store writes them, so the copy's audit chain digests
to the same links.

Either way the copy holds what the store holds: traveller keys stay the keyed
pseudonyms they are, and the pseudonymisation key is not copied (it is kept, and
backed up, apart from the data). The copy is written (mode 0600) under a
temporary name beside ``out``, verified, and only then linked to ``out``; an
existing ``out`` is never replaced.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from departure_screening.store import chain
from departure_screening.store.factory import SQLITE, open_audit_store, parse_store_url
from departure_screening.store.sqlbase import Db, SqlStore

# Rows written to the copy per statement batch, so memory stays flat for any store.
_ROWS_PER_BATCH = 2000
# Tables the fresh store fills itself: its schema version and purge's guard row.
_NOT_COPIED = frozenset({"schema_migrations", "purge_guard"})


class BackupExists(ValueError):
    """The output path is taken: a backup never overwrites anything."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    out: Path
    source_kind: str  # "sqlite" or "postgresql"
    verify: chain.VerifyReport  # of the copy, as ``audit verify`` checks it


def backup_store(url: str, out: str | os.PathLike[str]) -> BackupReport:
    """Copy the store at ``url`` into a new SQLite file ``out`` and verify the copy.

    Raises BackupExists, StoreMissing, SchemaError, StoreUnavailable, OSError and
    sqlite3.Error (writing the copy)."""
    target = Path(out)
    if target.exists():
        raise BackupExists(f"{target} exists: a backup never overwrites a file")
    if not target.parent.is_dir():
        raise ValueError(f"{target.parent}: no such directory for the backup")
    where = parse_store_url(url)
    # Opened as the audit commands open it: refused unless it is an existing store.
    source = open_audit_store(url)
    partial = target.with_name(f".{target.name}.{secrets.token_hex(8)}.partial")
    # Owner-only from the start, like the store's key: it is the audit trail in full.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        try:
            if where.kind == SQLITE:
                _copy_sqlite(Path(where.target), partial)
            else:
                _copy_postgres(source, partial)
        finally:
            source.close()
        copy = open_audit_store(f"sqlite:///{partial}")
        try:
            report = copy.verify_chain()
        finally:
            copy.close()
        try:
            # A link, not a rename: it fails instead of replacing a file created meanwhile.
            os.link(partial, target)
        except FileExistsError:
            raise BackupExists(f"{target} exists: a backup never overwrites a file") from None
        _fsync_dir(target.parent)
    finally:
        _remove_partial(partial)
    return BackupReport(target, where.kind, report)


def _copy_sqlite(path: Path, partial: Path) -> None:
    source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    copy = sqlite3.connect(partial)
    with closing(source), closing(copy):
        # pages=-1: every page in one step, that is from one read transaction.
        source.backup(copy, pages=-1)
        _finish(copy)


def _copy_postgres(source: SqlStore, partial: Path) -> None:
    from departure_screening.store.sqlite import SqliteStore

    SqliteStore(partial).close()  # a fresh store of this release's schema
    Path(f"{partial}.lock").unlink(missing_ok=True)
    copy = sqlite3.connect(partial, isolation_level=None)
    with closing(copy):
        copy.execute("BEGIN IMMEDIATE")
        # Replaced by the source's head and anchor.
        copy.execute("DELETE FROM chain_state")
        with source.snapshot() as db:
            for table in _tables(copy):
                _copy_table(db, copy, table)
        copy.execute("COMMIT")
        _finish(copy)


def _tables(copy: sqlite3.Connection) -> list[str]:
    rows = copy.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        " ORDER BY name"
    ).fetchall()
    return [str(r[0]) for r in rows if str(r[0]) not in _NOT_COPIED]


def _copy_table(db: Db, copy: sqlite3.Connection, table: str) -> None:
    wanted = [str(r[1]) for r in copy.execute(f'PRAGMA table_info("{table}")').fetchall()]
    present = {
        str(r[0])
        for r in db.all(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        )
    }
    # A column an older schema lacks stays NULL, as that release's migration left it.
    columns = [c for c in wanted if c in present]
    if not columns:
        return
    names = ", ".join(f'"{c}"' for c in columns)
    insert = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})'
    rows = db.stream(f'SELECT {names} FROM "{table}"')
    for batch in _batches(rows):
        copy.executemany(insert, [tuple(_sqlite_value(v) for v in row) for row in batch])


def _batches(rows: Iterator[Sequence[Any]]) -> Iterator[list[Sequence[Any]]]:
    while batch := list(islice(rows, _ROWS_PER_BATCH)):
        yield batch


def _sqlite_value(value: Any) -> Any:
    """A PostgreSQL value as the SQLite store keeps it (and the chain digests it)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dt.datetime):
        return chain.utc_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _finish(copy: sqlite3.Connection) -> None:
    # One self-contained file: no WAL beside it. A server started on it turns WAL on.
    copy.execute("PRAGMA journal_mode=DELETE").fetchall()


def _remove_partial(partial: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm", ".lock"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{partial}{suffix}").unlink()


def _fsync_dir(directory: Path) -> None:
    # The new name must survive a crash as surely as the file's content.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
