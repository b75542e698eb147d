"""Bundles the fuzzer (tests/fuzz/bundle_reader.py) or its harness review found escaping
the reader, and the bounds it keeps: each is refused with BundleError, never another
error, and nothing is decompressed past what a bundle may hold."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from departure_screening.screening.bundle import (
    MANIFEST,
    MAX_BUNDLE_BYTES,
    BundleError,
    load_rules,
    make_bundle,
    read_bundle,
)
from departure_screening.screening.ruleset import default_rules_dir

HOSTILE = Path(__file__).resolve().parent / "hostile_bundles"


@functools.cache
def _members() -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(make_bundle(default_rules_dir(), []))) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _consistent(extra: dict[str, bytes]) -> bytes:
    """An unsigned bundle with ``extra`` files, its manifest listing them with their hashes:
    what an unsigned deployment loads without any signature check."""
    members = dict(_members())
    manifest = json.loads(members[MANIFEST])
    for name, data in extra.items():
        manifest["files"][name] = hashlib.sha256(data).hexdigest()
    members[MANIFEST] = json.dumps(manifest).encode()
    return _zip({**members, **extra})


def _understated(data: bytes, size: int) -> bytes:
    """Every member's uncompressed size, in both its headers, said to be ``size``."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = out.find(signature)
        while at >= 0:
            out[at + offset : at + offset + 4] = size.to_bytes(4, "little")
            at = out.find(signature, at + 4)
    return bytes(out)


def _refused(tmp_path: Path, data: bytes, match: str) -> None:
    path = tmp_path / "rules.bundle"
    path.write_bytes(data)
    with pytest.raises(BundleError, match=match):
        read_bundle(path)
    with pytest.raises(BundleError, match=match):
        load_rules(path)


def test_the_fuzzers_corrupt_lzma_member_is_refused_unread(tmp_path: Path) -> None:
    # Found by the fuzzer in its first seconds: LZMAError escaped from zipfile.
    data = (HOSTILE / "lzma-corrupt-input").read_bytes()
    _refused(tmp_path, data, "compressed with method 14")


def test_the_fuzzers_entry_without_a_name_is_refused(tmp_path: Path) -> None:
    # Found by the fuzzer: ZipInfo.is_dir() raised IndexError on an empty name.
    data = (HOSTILE / "entry-without-a-name").read_bytes()
    _refused(tmp_path, data, "'': not a plain relative file name")


def test_a_bzip2_bomb_behind_a_small_header_is_never_decompressed(tmp_path: Path) -> None:
    # zipfile hands bzip2 (and LZMA) whole chunks to the decoder with no bound on the
    # output: 1 MiB packed could unpack to gigabytes before the header's size applies.
    packed = _understated(_zip({"ruleset.yaml": b"\0" * (64 << 20)}, zipfile.ZIP_BZIP2), 16)
    assert len(packed) < 4096
    _refused(tmp_path, packed, "compressed with method 12")


def test_a_name_flagged_utf8_that_is_not_is_refused(tmp_path: Path) -> None:
    data = bytearray(_zip({"r\u00e9gles.yaml": b"x"}))
    for at in (i for i in range(len(data) - 1) if data[i : i + 2] == "é".encode()):
        data[at : at + 2] = b"\xff\xfe"
    _refused(tmp_path, bytes(data), "not a rule bundle")


def test_directory_entries_count_against_the_entry_limit(tmp_path: Path) -> None:
    directories = {f"d{i}/": b"" for i in range(60)}  # 6 files: 66 entries
    _refused(tmp_path, _zip({**directories, **_members()}), "66 entries")


def test_a_file_too_large_to_be_a_bundle_is_not_parsed(tmp_path: Path) -> None:
    _refused(tmp_path, b"\0" * (MAX_BUNDLE_BYTES + 1), "larger than")


def test_sizes_a_header_understates_are_not_read_past(tmp_path: Path) -> None:
    _refused(tmp_path, _understated(_zip(_members()), 16), "not a rule bundle")


@pytest.mark.parametrize(
    "name",
    ["ruleset.yaml/inner.yaml", "tests", "x" * 300 + ".yaml", "tests/deeper/t.yaml", "a b.yaml"],
)
def test_names_that_would_not_unpack_beside_the_others_are_refused(
    tmp_path: Path, name: str
) -> None:
    # With a manifest that matches, the first and third reached the unpacking of an
    # unsigned deployment and failed there with OSError (a file where a directory goes,
    # a name too long); the others are names no bundle is made with.
    _refused(tmp_path, _consistent({name: b"x: 1\n"}), "not a ruleset file name")


def test_make_bundle_refuses_a_name_the_reader_would(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    for f in default_rules_dir().glob("*.yaml"):
        (rules / f.name).write_bytes(f.read_bytes())
    (rules / "my notes.yaml").write_text("note: kept beside the rules\n")
    with pytest.raises(BundleError, match="plain names"):
        make_bundle(rules, [])


def test_a_bundle_with_plain_names_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "rules.bundle"
    path.write_bytes(_consistent({"tests/extra_cases.yaml": b"cases: []\n"}))
    assert read_bundle(path).files["tests/extra_cases.yaml"] == b"cases: []\n"
