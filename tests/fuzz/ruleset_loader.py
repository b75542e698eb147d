"""Fuzz target: bytes → a ruleset directory → ``load_ruleset``.

The input is ``ruleset.yaml``, then ``SEPARATOR``, then ``indicators.yaml``; without
the separator it is ``ruleset.yaml`` alone beside the shipped ``indicators.yaml``.
A ruleset an analyst got wrong must be refused with ``RulesetError`` (every problem
listed); any other exception, a hang or unbounded memory is a crash.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from departure_screening.screening.ruleset import (
    INDICATORS_FILE,
    RULESET_FILE,
    RulesetError,
    default_rules_dir,
    load_ruleset,
)

NAME = "ruleset_loader"
SEPARATOR = b"\n#--- indicators.yaml ---\n"
SHIPPED_INDICATORS = (default_rules_dir() / INDICATORS_FILE).read_bytes()


def split(data: bytes) -> tuple[bytes, bytes]:
    ruleset, found, indicators = data.partition(SEPARATOR)
    return ruleset, indicators if found else SHIPPED_INDICATORS


def join(ruleset: bytes, indicators: bytes) -> bytes:
    return ruleset + SEPARATOR + indicators


class _Directory:
    """One directory for the whole run, rewritten for each input."""

    def __init__(self) -> None:
        self.path: Path | None = None

    def write(self, ruleset: bytes, indicators: bytes) -> Path:
        if self.path is None:
            self.path = Path(tempfile.mkdtemp(prefix="fuzz-ruleset-"))
            atexit.register(shutil.rmtree, self.path, ignore_errors=True)
        (self.path / RULESET_FILE).write_bytes(ruleset)
        (self.path / INDICATORS_FILE).write_bytes(indicators)
        return self.path


_directory = _Directory()


def TestOneInput(data: bytes) -> None:
    directory = _directory.write(*split(data))
    try:
        ruleset = load_ruleset(directory)
    except RulesetError as error:
        if not error.problems:
            raise AssertionError("a refused ruleset names no problem") from error
        return
    # A ruleset that loads has what the engine and the bands rely on.
    if not ruleset.bands or ruleset.bands[0].min_score != 0 or not ruleset.indicators:
        raise AssertionError(f"an incomplete ruleset loaded: {ruleset}")
