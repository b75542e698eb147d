"""Fuzz target: bytes → a rule bundle file → ``read_bundle``, signatures, ``load_rules``.

The input is the bundle file as an operator would hand it to ``--rules``. Reading it
may only refuse it with ``BundleError``; a bundle that reads has exactly the files its
manifest lists. Its signatures are counted against the harness's fixed key (the
seeds' signer), and the ruleset it carries is loaded as an unsigned deployment would
load it, where ``RulesetError`` is a refusal too. Any other exception, a hang or
unbounded memory (a zip bomb, a header that lies about sizes) is a crash.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from departure_screening.screening.bundle import (
    MANIFEST,
    SIGNATURES,
    BundleError,
    key_id,
    load_rules,
    read_bundle,
    valid_signers,
)
from departure_screening.screening.ruleset import RulesetError

NAME = "bundle_reader"
# Fixed, so that the committed seeds carry valid signatures by it.
SIGNING_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
KEYS = {key_id(SIGNING_KEY.public_key()): SIGNING_KEY.public_key()}


class _File:
    """One file for the whole run, rewritten for each input."""

    def __init__(self) -> None:
        self.path: Path | None = None

    def write(self, data: bytes) -> Path:
        if self.path is None:
            directory = Path(tempfile.mkdtemp(prefix="fuzz-bundle-"))
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
            self.path = directory / "rules.bundle"
        self.path.write_bytes(data)
        return self.path


_file = _File()


def TestOneInput(data: bytes) -> None:
    path = _file.write(data)
    try:
        bundle = read_bundle(path)
    except BundleError as error:
        if not str(error):
            raise AssertionError("a refused bundle says nothing about why") from error
        return
    listed = set(bundle.manifest["files"])
    if set(bundle.files) != listed or {MANIFEST, SIGNATURES} & listed:
        raise AssertionError(f"read files {sorted(bundle.files)}, manifest lists {sorted(listed)}")
    signers = valid_signers(bundle, KEYS)
    if not signers <= set(bundle.signatures):
        raise AssertionError(f"signers {signers} not among the bundle's signatures")
    try:
        ruleset = load_rules(path)
    except (BundleError, RulesetError):
        return
    if not ruleset.bands or not ruleset.indicators:
        raise AssertionError(f"an incomplete ruleset loaded from a bundle: {ruleset}")
