"""Versioned schema migrations, one list per backend, applied in order at start-up.

A migration is never edited once released: a change to the schema is a new entry
with the next version number. ``schema_migrations`` records what a database has.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def check_sequence(migrations: tuple[Migration, ...]) -> None:
    """Versions run 1, 2, 3…: a gap or a duplicate is a packaging mistake."""
    for expected, m in enumerate(migrations, start=1):
        if m.version != expected:
            raise RuntimeError(f"migration {m.name!r} has version {m.version}, expected {expected}")
