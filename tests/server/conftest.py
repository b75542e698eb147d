"""Server-level tests reuse the PostgreSQL fixtures of the store tests."""

from store.conftest import _pg_holder, postgres_cluster, postgres_url  # noqa: F401
