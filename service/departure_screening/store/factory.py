"""Store URLs → stores.

``memory:`` keeps everything in the process; ``sqlite:///var/depscreen.db`` (relative)
or ``sqlite:////srv/depscreen.db`` (absolute) is one file on this host;
``postgresql://user@host/db`` (any libpq URL) is shared by every replica.
"""

from __future__ import annotations

from dataclasses import dataclass
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


def open_audit_store(url: str) -> SqlStore:
    """A durable store for ``depscreen audit``: no alert listener, no pseudonymisation key."""
    where = parse_store_url(url)
    if where.kind == MEMORY:
        raise ValueError("the in-memory store keeps no audit trail to check or purge")
    return _open_sql(where, None, listen=False)


def _open_sql(where: StoreLocation, alerts: AlertHub | None, *, listen: bool) -> SqlStore:
    # Imported here so that a SQLite deployment never needs the PostgreSQL driver.
    if where.kind == SQLITE:
        from departure_screening.store.sqlite import SqliteStore

        return SqliteStore(where.target, alerts, watch_other_processes=listen)
    from departure_screening.store.postgres import PostgresStore

    return PostgresStore(where.target, alerts, listen=listen)
