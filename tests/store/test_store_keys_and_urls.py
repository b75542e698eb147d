"""The pseudonymisation key's sources, store URLs, and the JSON codec."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import stat
from pathlib import Path

import pytest
from departure_screening.domain import DecisionRecord, GroupAlert
from departure_screening.serving.keys import KeyConfigError, load_key
from departure_screening.store import codec
from departure_screening.store.factory import (
    MEMORY,
    POSTGRESQL,
    SQLITE,
    StoreLocation,
    open_store,
    parse_store_url,
)
from departure_screening.store.memory import MemoryStore
from support.store_helpers import assessment, keys

HEX = "ab" * 32


def test_environment_key_comes_first(tmp_path: Path) -> None:
    key_file = tmp_path / "k"
    key_file.write_text("cd" * 32)
    env = {"DEPSCREEN_PSEUDONYM_KEY": HEX}
    assert load_key("postgresql://h/db", str(key_file), env) == bytes.fromhex(HEX)
    assert load_key(f"sqlite:///{tmp_path}/x.db", "", env) == bytes.fromhex(HEX)


def test_key_file_comes_next(tmp_path: Path) -> None:
    key_file = tmp_path / "k"
    key_file.write_text("cd" * 16 + "\n")
    assert load_key("postgresql://h/db", str(key_file), {}) == bytes.fromhex("cd" * 16)
    with pytest.raises(KeyConfigError, match="does not exist"):
        load_key("postgresql://h/db", str(tmp_path / "missing"), {})


@pytest.mark.parametrize("bad", ["abc", "zz" * 20, "ab" * 15])
def test_malformed_keys_are_refused(bad: str) -> None:
    with pytest.raises(KeyConfigError):
        load_key("memory:", "", {"DEPSCREEN_PSEUDONYM_KEY": bad})


def test_sqlite_key_is_created_beside_the_database_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/var/depscreen.db"
    first = load_key(url, "", {})
    path = tmp_path / "var" / "depscreen.db.key"
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) == 32
    assert load_key(url, "", {}) == first  # stable across restarts
    assert [p.name for p in path.parent.iterdir()] == ["depscreen.db.key"]


def test_relative_sqlite_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    key = load_key("sqlite:///./var/depscreen.db", "", {})
    assert (tmp_path / "var" / "depscreen.db.key").read_text().strip() == key.hex()


def _load(url: str, out: multiprocessing.Queue[bytes]) -> None:
    out.put(load_key(url, "", {}))


def test_two_processes_creating_the_key_agree(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/d.db"
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[bytes] = ctx.Queue()
    procs = [ctx.Process(target=_load, args=(url, out)) for _ in range(4)]
    for p in procs:
        p.start()
    got = {out.get(timeout=30) for _ in procs}
    for p in procs:
        p.join()
    assert len(got) == 1


def test_memory_key_is_random_and_postgres_needs_one() -> None:
    assert load_key("memory:", "", {}) != load_key("memory:", "", {})
    with pytest.raises(KeyConfigError, match="DEPSCREEN_PSEUDONYM_KEY"):
        load_key("postgresql://user@host/db", "", {})


def test_environment_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPSCREEN_PSEUDONYM_KEY", HEX)
    assert load_key("postgresql://h/db") == bytes.fromhex(HEX)


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("memory:", StoreLocation(MEMORY, "")),
        ("sqlite:///./var/depscreen.db", StoreLocation(SQLITE, "./var/depscreen.db")),
        ("sqlite:///var/x.db", StoreLocation(SQLITE, "var/x.db")),
        ("sqlite:////srv/x.db", StoreLocation(SQLITE, "/srv/x.db")),
        ("postgresql://u@h:5432/db", StoreLocation(POSTGRESQL, "postgresql://u@h:5432/db")),
        ("postgres://u@h/db", StoreLocation(POSTGRESQL, "postgres://u@h/db")),
    ],
)
def test_store_urls(url: str, where: StoreLocation) -> None:
    assert parse_store_url(url) == where


@pytest.mark.parametrize(
    "url", ["", "mysql://x", "sqlite://x.db", "sqlite:///", "sqlite:///:memory:"]
)
def test_bad_store_urls(url: str) -> None:
    with pytest.raises(ValueError):
        parse_store_url(url)


def test_open_memory_store() -> None:
    assert isinstance(open_store("memory:"), MemoryStore)


def test_codec_round_trips() -> None:
    a = assessment(keys("P1", escort="E"), members=4)
    assert codec.decode_assessment(codec.encode_assessment(a)) == a
    naive = assessment(keys("P2"), at=dt.datetime(2026, 1, 1, 10, 0))
    assert codec.decode_assessment(codec.encode_assessment(naive)) == naive
    d = DecisionRecord(
        "a1",
        "DECISION_POSTPONED",
        "o1",
        "catatan ✓",
        dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=7))),
    )
    assert codec.decode_decision(codec.encode_decision(d)) == d
    alert = GroupAlert(
        "CGK",
        "MODE_LIVE",
        "g-1",
        "GA1",
        dt.date(2026, 3, 1),
        3,
        ("a", "b"),
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    assert codec.decode_alert(codec.encode_alert(alert)) == alert
    # Canonical: the same value always gives the same text.
    assert codec.encode_assessment(a) == codec.encode_assessment(
        codec.decode_assessment(codec.encode_assessment(a))
    )


def test_no_clear_passport_number_is_stored(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/d.db")
    from support.store_helpers import decide, screen

    s = screen(store, keys("X9876543", escort="Y1234567"))
    decide(store, s.assessment.assessment_id, "DECISION_POSTPONED")
    store.close()
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert b"X9876543" not in blob and b"Y1234567" not in blob
    assert os.path.exists(tmp_path / "d.db")
