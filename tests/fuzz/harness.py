"""What every fuzz harness shares: reading RSS, time and memory limits, the runner.

A harness is a module with ``TestOneInput(data: bytes) -> None`` that returns for
any input the service is allowed to refuse, and raises for anything else.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"
DICTS = Path(__file__).resolve().parent / "dicts"
# Longest one input may take in the seed run: a hang would take far longer.
SEED_SECONDS = 5.0
# libFuzzer's own guards in the long and the bounded runs: seconds per input, RSS.
TIMEOUT_SECONDS = 10
RSS_LIMIT_MB = 1024

_PAGE = os.sysconf("SC_PAGE_SIZE")


class Hang(AssertionError):
    """One input took longer than any input may."""


def rss_bytes() -> int:
    """Resident memory now (not the peak), from /proc."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def seeds(name: str) -> list[Path]:
    return sorted(p for p in (CORPUS / name).iterdir() if p.is_file())


def timed(test_one_input: Callable[[bytes], None], data: bytes, limit: float) -> float:
    """Run one input; raise Hang when it took longer than ``limit`` seconds."""
    started = time.perf_counter()
    test_one_input(data)
    elapsed = time.perf_counter() - started
    if elapsed > limit:
        raise Hang(f"one input took {elapsed:.1f} s (limit {limit} s)")
    return elapsed
