"""A watched file: looked at on every use, or no more often than its recheck interval."""

from __future__ import annotations

from pathlib import Path

from departure_screening.access.watched import WatchedFile
from support.pki import write_atomically


def _watched(path: Path, recheck_seconds: float) -> tuple[WatchedFile[bytes], list[str]]:
    seen: list[str] = []
    watched = WatchedFile(
        "test",
        (path,),
        path.read_bytes,
        lambda label, result: seen.append(result),
        recheck_seconds=recheck_seconds,
    )
    return watched, seen


def test_without_an_interval_every_use_sees_a_change(tmp_path: Path) -> None:
    path = tmp_path / "file"
    write_atomically(path, b"one")
    watched, seen = _watched(path, 0.0)
    write_atomically(path, b"two")
    assert watched.current() == b"two"
    assert seen == ["applied"]


def test_within_the_interval_the_file_is_not_looked_at(tmp_path: Path) -> None:
    path = tmp_path / "file"
    write_atomically(path, b"one")
    watched, seen = _watched(path, 3600.0)
    write_atomically(path, b"two")
    assert watched.current() == b"one"
    assert watched.refresh() == (b"one", False)
    assert seen == []
