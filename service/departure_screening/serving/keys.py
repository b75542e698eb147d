"""Where the pseudonymisation key comes from.

The key turns passport numbers into the keyed hashes that link a traveller's
trips; it must stay the same for as long as the store's history is kept, and be
the same on every replica sharing a store. In order of precedence:

1. ``DEPSCREEN_PSEUDONYM_KEY``: the key in hex (at least 32 hex digits);
2. ``--key-file`` / ``DEPSCREEN_KEY_FILE``: a file holding the key in hex;
3. for SQLite, ``<database path>.key`` beside the database, created with mode 0600
   on first start;
4. for the in-memory store, a random key for this process.

A PostgreSQL store has no file of its own to keep a key beside, so it needs 1 or 2.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from departure_screening.store.factory import MEMORY, SQLITE, parse_store_url

ENV_KEY = "DEPSCREEN_PSEUDONYM_KEY"
MIN_HEX_DIGITS = 32
KEY_BYTES = 32


class KeyConfigError(ValueError):
    """The key is missing or malformed; the message says what to fix."""


def load_key(store_url: str, key_file: str = "", environ: Mapping[str, str] | None = None) -> bytes:
    env = os.environ if environ is None else environ
    if env.get(ENV_KEY, "").strip():
        return _parse_hex(env[ENV_KEY], f"${ENV_KEY}")
    if key_file:
        return _read_key_file(Path(key_file))
    where = parse_store_url(store_url)
    if where.kind == MEMORY:
        return secrets.token_bytes(KEY_BYTES)
    if where.kind == SQLITE:
        return _key_beside(Path(where.target + ".key"))
    raise KeyConfigError(
        "a PostgreSQL store needs the pseudonymisation key from "
        f"${ENV_KEY} (hex) or --key-file, the same on every replica; "
        "without it trips of one traveller could not be linked"
    )


def _parse_hex(text: str, source: str) -> bytes:
    text = text.strip()
    if len(text) < MIN_HEX_DIGITS:
        raise KeyConfigError(f"{source}: the key must be at least {MIN_HEX_DIGITS} hex digits")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise KeyConfigError(f"{source}: the key must be hexadecimal") from None


def _read_key_file(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise KeyConfigError(f"key file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise KeyConfigError(f"key file {path} cannot be read: {e}") from None
    return _parse_hex(text, f"key file {path}")


def _key_beside(path: Path) -> bytes:
    """Read the key beside a SQLite database, creating it on first start."""
    if not path.exists():
        _create_key_file(path)
    return _read_key_file(path)


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written in full under a temporary name, then linked into place: another
    # process starting at the same moment sees either no key or a whole key,
    # and exactly one of the two keys wins.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            os.fchmod(f.fileno(), 0o600)  # exactly owner read/write, whatever the umask
            f.write(secrets.token_bytes(KEY_BYTES).hex() + "\n")
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    # The key must survive a crash as surely as the records hashed with it.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
