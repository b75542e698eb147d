"""Signed rule bundles: what was signed is what loads, and nothing else does."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import stat
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from departure_screening.screening.bundle import (
    MANIFEST,
    BundleError,
    Trust,
    key_id,
    keygen,
    load_public_keys,
    load_rules,
    load_signing_key,
    make_bundle,
    read_bundle,
    ruleset_directory,
    verify,
)
from departure_screening.screening.ruleset import RulesetError, default_rules_dir, load_ruleset
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

SHIPPED = default_rules_dir()


@pytest.fixture(scope="module")
def signers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Ed25519PrivateKey]]:
    keys = tmp_path_factory.mktemp("keys")
    for name in ("analyst", "director", "spare"):
        keygen(keys / name)
    private = [load_signing_key(keys / f"{n}.key") for n in ("analyst", "director", "spare")]
    (keys / "spare.pub").unlink()  # a key whose holder is not trusted
    return keys, private


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "rules.bundle"
    path.write_bytes(data)
    return path


def _rezip(source: Path, change: dict[str, bytes | None]) -> bytes:
    """The bundle's members with ``change`` applied (None removes a member)."""
    out = io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(out, "w") as new:
        for name in old.namelist():
            if name in change:
                continue
            new.writestr(name, old.read(name))
        for name, data in change.items():
            if data is not None:
                new.writestr(name, data)
    return out.getvalue()


def test_keygen_writes_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    key, pub = keygen(tmp_path / "analyst")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key_id(load_signing_key(key).public_key()) in load_public_keys(tmp_path)
    with pytest.raises(BundleError, match="exists"):
        keygen(tmp_path / "analyst")
    assert pub.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")


def test_a_bundle_loads_as_the_same_ruleset_with_its_tests(
    tmp_path: Path, signers: tuple[Path, list[Ed25519PrivateKey]]
) -> None:
    keys_dir, private = signers
    path = _write(tmp_path, make_bundle(SHIPPED, private[:2], note="March watch-list"))
    bundle = read_bundle(path)
    assert bundle.version == load_ruleset(SHIPPED).version
    assert bundle.manifest["note"] == "March watch-list"
    assert set(bundle.manifest["signers"]) == {key_id(k.public_key()) for k in private[:2]}
    assert {"ruleset.yaml", "indicators.yaml", "tests/bands.yaml"} <= set(bundle.files)
    trust = Trust(load_public_keys(keys_dir), 2)
    assert load_rules(path, trust).version == load_ruleset(SHIPPED).version
    with ruleset_directory(path, trust) as directory:
        assert (directory / "tests" / "indicators.yaml").read_bytes() == (
            SHIPPED / "tests" / "indicators.yaml"
        ).read_bytes()


def test_signatures_count_only_distinct_trusted_keys(
    tmp_path: Path, signers: tuple[Path, list[Ed25519PrivateKey]]
) -> None:
    keys_dir, private = signers
    trusted = load_public_keys(keys_dir)
    one_trusted_one_not = read_bundle(
        _write(tmp_path, make_bundle(SHIPPED, [private[0], private[2]]))
    )
    assert verify(one_trusted_one_not, trusted, 1) == {key_id(private[0].public_key())}
    with pytest.raises(BundleError, match="1 valid signature"):
        verify(one_trusted_one_not, trusted, 2)
    with pytest.raises(BundleError, match="twice"):
        make_bundle(SHIPPED, [private[0], private[0]])


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"indicators.yaml": b"indicators: []\n"}, "changed after signing"),
        ({"tests/extra.yaml": b"cases: []\n"}, "added after signing"),
        ({"tests/bands.yaml": None}, "removed after signing"),
    ],
)
def test_a_file_touched_after_signing_is_refused(
    tmp_path: Path,
    signers: tuple[Path, list[Ed25519PrivateKey]],
    change: dict[str, bytes | None],
    reason: str,
) -> None:
    path = _write(tmp_path, make_bundle(SHIPPED, signers[1][:2]))
    tampered = tmp_path / "tampered.bundle"
    tampered.write_bytes(_rezip(path, change))
    with pytest.raises(BundleError, match=reason):
        read_bundle(tampered)


def test_a_manifest_rewritten_to_match_changed_files_loses_its_signatures(
    tmp_path: Path, signers: tuple[Path, list[Ed25519PrivateKey]]
) -> None:
    keys_dir, private = signers
    path = _write(tmp_path, make_bundle(SHIPPED, private[:2]))
    manifest = read_bundle(path).manifest
    forged = dict(manifest, note="approved")  # every file hash still right
    tampered = tmp_path / "forged.bundle"
    tampered.write_bytes(_rezip(path, {MANIFEST: json.dumps(forged).encode()}))
    bundle = read_bundle(tampered)
    with pytest.raises(BundleError, match="0 valid signature"):
        verify(bundle, load_public_keys(keys_dir), 1)


def test_a_directory_is_refused_where_signatures_are_required(
    signers: tuple[Path, list[Ed25519PrivateKey]],
) -> None:
    with pytest.raises(BundleError, match="directory carries no signatures"):
        load_rules(SHIPPED, Trust(load_public_keys(signers[0]), 1))


def test_an_invalid_ruleset_is_never_bundled(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "ruleset.yaml").write_text("name: x\n")
    (broken / "indicators.yaml").write_text("indicators: []\n")
    with pytest.raises(RulesetError):
        make_bundle(broken, [])


def test_path_tricks_and_oversized_members_are_refused(tmp_path: Path) -> None:
    for name in ("../escape.yaml", "/abs.yaml"):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr(name, b"x")
        with pytest.raises(BundleError, match="plain relative"):
            read_bundle(_write(tmp_path, out.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("indicators.yaml", b"\0" * (5 << 20))  # a few KB packed
    with pytest.raises(BundleError, match="bytes"):
        read_bundle(_write(tmp_path, out.getvalue()))


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=4096), flips=st.lists(st.integers(min_value=0), max_size=8))
@example(data=b"", flips=[28])  # a broken deflate stream once escaped as zlib.error
def test_any_bytes_are_a_bundle_or_a_bundle_error(
    tmp_path: Path, data: bytes, flips: list[int]
) -> None:
    """Random bytes, and a real bundle with bytes flipped: never another exception."""
    for candidate in (data, _flipped(_unsigned_bundle(), flips)):
        with contextlib.suppress(BundleError):
            read_bundle(_write(tmp_path, candidate))


@functools.cache
def _unsigned_bundle() -> bytes:
    return make_bundle(SHIPPED, [])


def _flipped(data: bytes, positions: list[int]) -> bytes:
    buffer = bytearray(data)
    for p in positions:
        buffer[p % len(buffer)] ^= 0xFF
    return bytes(buffer)
