"""Store URLs → stores.

``memory:`` keeps everything in the process; ``sqlite:///var/depscreen.db`` (relative)
or ``sqlite:////srv/depscreen.db`` (absolute) is one file on this host;
``postgresql://user@host/db`` (any libpq URL) is shared by every replica.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from departure_screening.screening.alerts import AlertHub
from departure_screening.store.base import Store

if TYPE_CHECKING:
    from departure_screening.store.sqlbase import SqlStore

MEMORY = "memory"
SQLITE = "sqlite"
POSTGRESQL = "postgresql"


@dataclass(frozen=True, slots=True)
class StoreLocation:
    kind: str  # MEMORY, SQLITE or POSTGRESQL
    target: str  # the file path (SQLite) or the libpq URL (PostgreSQL); "" for memory


def parse_store_url(url: str) -> StoreLocation:
    url = url.strip()
    if url in ("memory:", "memory://"):
        return StoreLocation(MEMORY, "")
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if not path or path == ":memory:":
            raise ValueError(
                f"store URL {url!r} names no file (use memory: for an in-memory store)"
            )
        # sqlite:////abs/path keeps its leading slash; sqlite:///rel/path is relative.
        return StoreLocation(SQLITE, path)
    if url.startswith(("postgresql://", "postgres://")):
        return StoreLocation(POSTGRESQL, url)
    raise ValueError(
        f"unsupported store URL {url!r}: expected memory:, sqlite:///PATH or postgresql://..."
    )


def open_store(url: str, alerts: AlertHub | None = None) -> Store:
    """Open (and migrate) the store at ``url``. Raises ValueError, StoreUnavailable."""
    where = parse_store_url(url)
    if where.kind == MEMORY:
        from departure_screening.store.memory import MemoryStore

        return MemoryStore(alerts)
    return _open_sql(where, alerts, listen=True)


class StoreMissing(ValueError):
    """An audit command named a store that does not exist: it creates none."""


def open_audit_store(url: str, *, write: bool = False) -> SqlStore:
    """An existing durable store for ``depscreen audit``: no alert listener, no
    pseudonymisation key, no migration; read-only unless ``write``. Raises
    StoreMissing (nothing at that path), SchemaError (not a store this release
    knows), StoreUnavailable."""
    where = parse_store_url(url)
    if where.kind == MEMORY:
        raise ValueError("the in-memory store keeps no audit trail to check or purge")
    if where.kind == SQLITE:
        from departure_screening.store.sqlite import SqliteStore

        if not Path(where.target).is_file():
            raise StoreMissing(
                f"no store at {where.target}: audit commands open an existing store only"
            )
        return SqliteStore(where.target, existing=True, read_only=not write)
    from departure_screening.store.postgres import PostgresStore

    return PostgresStore(where.target, listen=False, existing=True)


def _open_sql(where: StoreLocation, alerts: AlertHub | None, *, listen: bool) -> SqlStore:
    # Imported here so that a SQLite deployment never needs the PostgreSQL driver.
    if where.kind == SQLITE:
        from departure_screening.store.sqlite import SqliteStore

        return SqliteStore(where.target, alerts, watch_other_processes=listen)
    from departure_screening.store.postgres import PostgresStore

    return PostgresStore(where.target, alerts, listen=listen)
