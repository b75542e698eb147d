"""Signed rule bundles: one file holding a ruleset, its table tests and a signed manifest.

A bundle is a zip archive with the ruleset's files, ``manifest.json`` (the ruleset's
name and version, its content hash, when it was made, a note, the ids of the keys
that signed, and the SHA-256 of every file) and ``signatures.json`` (one Ed25519
signature per key over the manifest's canonical bytes). Reading a bundle refuses a
file added, removed or changed after signing; verifying counts the valid signatures
of distinct known keys, so a four-eyes rule asks for two. A bundle is a file anyone
may hand to ``--rules``: reading bounds the archive, its entries and what they
unpack to before anything is decompressed.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from departure_screening.screening.ruleset import Ruleset, load_ruleset

BUNDLE_FORMAT = 1
MANIFEST = "manifest.json"
SIGNATURES = "signatures.json"
# A ruleset is a few files of a few kilobytes: anything far larger is not one.
MAX_FILES = 64
MAX_FILE_BYTES = 1 << 20
MAX_TOTAL_BYTES = 4 << 20
# The archive itself: its members packed, plus room for their headers.
MAX_BUNDLE_BYTES = MAX_TOTAL_BYTES + (256 << 10)
# ``rules bundle`` deflates. Bzip2 and LZMA members are refused unread: zipfile
# decompresses each of their chunks without a bound on the output (a bomb behind a
# header that claims a few bytes), and their decoders raise errors of their own.
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# What a bundle carries: the ruleset's YAML files and its table tests, nothing nested
# deeper, so every name is also a file name that unpacks beside the others.
_FILE_NAME = re.compile(r"(tests/)?[A-Za-z0-9_][A-Za-z0-9_.+-]{0,99}\.yaml")
_MANIFEST_KEYS = {"format", "ruleset", "version", "content_hash", "created", "note", "signers"}


class BundleError(ValueError):
    """A bundle that cannot be used; the message says why."""


@dataclass(frozen=True)
class Bundle:
    manifest: Mapping[str, Any]
    files: Mapping[str, bytes]
    signatures: Mapping[str, bytes]  # key id → signature over the manifest

    @property
    def version(self) -> str:
        return str(self.manifest["version"])


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def keygen(prefix: Path) -> tuple[Path, Path]:
    """Write ``PREFIX.key`` (mode 0600, created so) and ``PREFIX.pub``; refuse to overwrite."""
    private = Ed25519PrivateKey.generate()
    key_path, pub_path = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    for path in (key_path, pub_path):
        if path.exists():
            raise BundleError(f"{path} exists; not overwritten")
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    pub_path.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return key_path, pub_path


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise BundleError(f"{path}: not a readable private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError(f"{path}: not an Ed25519 key")
    return key


def load_public_keys(directory: Path) -> dict[str, Ed25519PublicKey]:
    """Every ``*.pub`` in ``directory``, by key id."""
    keys: dict[str, Ed25519PublicKey] = {}
    paths = sorted(directory.glob("*.pub")) if directory.is_dir() else []
    if not paths:
        raise BundleError(f"{directory}: no public keys (*.pub)")
    for path in paths:
        try:
            key = serialization.load_pem_public_key(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise BundleError(f"{path}: not a readable public key: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise BundleError(f"{path}: not an Ed25519 key")
        keys[key_id(key)] = key
    return keys


def ruleset_files(directory: Path) -> dict[str, bytes]:
    """The files a bundle carries: the ruleset's YAML and its table tests."""
    names = sorted(p for p in directory.glob("*.yaml")) + sorted(directory.glob("tests/*.yaml"))
    files = {p.relative_to(directory).as_posix(): p.read_bytes() for p in names if p.is_file()}
    for name in files:
        if not _FILE_NAME.fullmatch(name):
            raise BundleError(
                f"{name!r}: a bundle carries only plain names (letters, digits, _.+-)"
            )
    return files


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(manifest: Mapping[str, Any]) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def make_bundle(
    directory: Path,
    sign_keys: list[Ed25519PrivateKey],
    note: str = "",
    now: dt.datetime | None = None,
) -> bytes:
    """The bundle of the ruleset in ``directory``, refused (RulesetError) if it is invalid."""
    ruleset = load_ruleset(directory)
    files = ruleset_files(directory)
    signers = [key_id(k.public_key()) for k in sign_keys]
    if len(set(signers)) != len(signers):
        raise BundleError("the same key was given twice")
    manifest = {
        "format": BUNDLE_FORMAT,
        "ruleset": ruleset.name,
        "version": ruleset.version,
        "content_hash": ruleset.content_hash,
        "created": (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        "note": note,
        "signers": signers,
        "files": {name: _digest(data) for name, data in files.items()},
    }
    payload = _canonical(manifest)
    signatures = {
        key_id(k.public_key()): base64.b64encode(k.sign(payload)).decode() for k in sign_keys
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        archive.writestr(SIGNATURES, json.dumps(signatures, indent=2, sort_keys=True) + "\n")
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def read_bundle(path: Path) -> Bundle:
    """The bundle at ``path``, its files checked against the manifest; BundleError if not."""
    try:
        if path.stat().st_size > MAX_BUNDLE_BYTES:
            raise BundleError(f"{path}: larger than {MAX_BUNDLE_BYTES} bytes; not a rule bundle")
        with zipfile.ZipFile(path) as archive:
            members = _read_members(archive)
    # What a damaged archive raises while it is read: a bad header, a name flagged
    # UTF-8 that is not, a bad deflate stream, encryption, a member cut short.
    except (
        OSError,
        EOFError,
        RuntimeError,
        NotImplementedError,
        UnicodeDecodeError,
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
    ) as exc:
        raise BundleError(f"{path}: not a rule bundle: {exc}") from None
    manifest = _json_member(members, MANIFEST)
    raw_signatures = _json_member(members, SIGNATURES)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise BundleError(f"{MANIFEST}: expected a mapping with 'files'")
    missing_keys = _MANIFEST_KEYS - manifest.keys()
    if missing_keys:
        raise BundleError(f"{MANIFEST}: missing {', '.join(sorted(missing_keys))}")
    if manifest["format"] != BUNDLE_FORMAT:
        raise BundleError(f"{MANIFEST}: unknown bundle format {manifest['format']!r}")
    listed: dict[str, Any] = manifest["files"]
    files = {n: d for n, d in members.items() if n not in (MANIFEST, SIGNATURES)}
    for name in sorted(files.keys() - listed.keys()):
        raise BundleError(f"{name}: in the bundle but not in its manifest (added after signing)")
    for name in sorted(listed.keys() - files.keys()):
        raise BundleError(f"{name}: in the manifest but not in the bundle (removed after signing)")
    for name, data in sorted(files.items()):
        if listed[name] != _digest(data):
            raise BundleError(f"{name}: does not match its manifest hash (changed after signing)")
    if not isinstance(raw_signatures, dict):
        raise BundleError(f"{SIGNATURES}: expected a mapping of key id to signature")
    signatures: dict[str, bytes] = {}
    for kid, sig in raw_signatures.items():
        try:
            signatures[str(kid)] = base64.b64decode(str(sig), validate=True)
        except ValueError:
            raise BundleError(f"{SIGNATURES}: signature of {kid} is not base64") from None
    return Bundle(manifest, files, signatures)


def _read_members(archive: zipfile.ZipFile) -> dict[str, bytes]:
    entries = archive.infolist()
    # Directory entries count too: each is an entry to parse, whatever it holds.
    if len(entries) > MAX_FILES:
        raise BundleError(f"{len(entries)} entries; a rule bundle holds at most {MAX_FILES}")
    # Not ZipInfo.is_dir(): it fails on an entry with no name, which is refused below.
    infos = [i for i in entries if not i.filename.endswith("/")]
    if sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
        raise BundleError(f"more than {MAX_TOTAL_BYTES} bytes unpacked")
    members: dict[str, bytes] = {}
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name).parts
        if name.startswith("/") or "\\" in name or ".." in parts or not parts:
            raise BundleError(f"{name!r}: not a plain relative file name")
        if name not in (MANIFEST, SIGNATURES) and not _FILE_NAME.fullmatch(name):
            raise BundleError(f"{name!r}: not a ruleset file name (NAME.yaml or tests/NAME.yaml)")
        if name in members:
            raise BundleError(f"{name}: twice in the bundle")
        if info.compress_type not in _METHODS:
            raise BundleError(
                f"{name}: compressed with method {info.compress_type}; "
                "a rule bundle is stored or deflated"
            )
        if info.file_size > MAX_FILE_BYTES:
            raise BundleError(f"{name}: larger than {MAX_FILE_BYTES} bytes")
        with archive.open(info) as member:
            data = member.read(MAX_FILE_BYTES + 1)  # the header's size is the sender's word
        if len(data) > MAX_FILE_BYTES:
            raise BundleError(f"{name}: larger than {MAX_FILE_BYTES} bytes")
        members[name] = data
    return members


def _json_member(members: Mapping[str, bytes], name: str) -> Any:
    if name not in members:
        raise BundleError(f"{name}: missing from the bundle")
    try:
        return json.loads(members[name])
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError(f"{name}: not valid JSON: {exc}") from None


def valid_signers(bundle: Bundle, keys: Mapping[str, Ed25519PublicKey]) -> set[str]:
    """Ids of the known keys whose signature over the manifest is valid."""
    payload = _canonical(bundle.manifest)
    valid = set()
    for kid, signature in bundle.signatures.items():
        key = keys.get(kid)
        if key is None:
            continue
        try:
            key.verify(signature, payload)
        except InvalidSignature:
            continue
        valid.add(kid)
    return valid


def verify(bundle: Bundle, keys: Mapping[str, Ed25519PublicKey], require: int) -> set[str]:
    """The valid signers, or BundleError when fewer than ``require`` distinct keys signed."""
    signers = valid_signers(bundle, keys)
    if len(signers) < require:
        raise BundleError(
            f"{len(signers)} valid signature(s) by known keys, {require} required"
            f" ({len(bundle.signatures)} in the bundle)"
        )
    return signers


@dataclass(frozen=True)
class Trust:
    """Which signatures a served ruleset needs: ``required`` by distinct keys of ``keys``."""

    keys: Mapping[str, Ed25519PublicKey]
    required: int = 0


NO_SIGNATURES = Trust({}, 0)


@contextmanager
def ruleset_directory(path: Path, trust: Trust = NO_SIGNATURES) -> Iterator[Path]:
    """A directory holding the ruleset at ``path``, a directory or a verified bundle."""
    if path.is_dir():
        if trust.required:
            raise BundleError(f"{path}: a directory carries no signatures; a bundle is required")
        yield path
        return
    bundle = read_bundle(path)
    verify(bundle, trust.keys, trust.required)
    with tempfile.TemporaryDirectory(prefix="depscreen-rules-") as tmp:
        root = Path(tmp)
        for name, data in bundle.files.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        yield root


def load_rules(path: Path, trust: Trust = NO_SIGNATURES) -> Ruleset:
    """The ruleset of a directory or bundle; RulesetError or BundleError if refused."""
    with ruleset_directory(path, trust) as directory:
        return load_ruleset(directory)
