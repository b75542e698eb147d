"""What host a benchmark ran on, so figures from different hosts can be compared.

Hosts sold as one machine class (2 vCPUs, say) differ: the service's figures
moved by a factor of two between two of them. The CPU's name and the time of a
fixed piece of pure Python (a yardstick for how fast this host runs the
interpreter, which is where the service spends most of its CPU) say which kind
of host a report came from.
"""

from __future__ import annotations

import math
import os
import platform
import time
from pathlib import Path
from typing import Any

CPUINFO = Path("/proc/cpuinfo")
# Additions in the yardstick loop: 35 to 70 ms on the one 2-vCPU host timed so far.
YARDSTICK_ADDITIONS = 1_000_000


def cpu_model(cpuinfo: Path = CPUINFO) -> str:
    """The CPU's model name (Linux), else what the platform says, else ``"unknown"``."""
    try:
        with cpuinfo.open(encoding="utf-8", errors="replace") as info:
            for line in info:
                name, _, value = line.partition(":")
                if name.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def python_yardstick_ms(additions: int = YARDSTICK_ADDITIONS, tries: int = 3) -> float:
    """Milliseconds for ``additions`` integer additions in a Python loop, best of ``tries``.

    The best run, not the mean: a one-off pause (another process, the hypervisor)
    says nothing about the host's speed.
    """
    best = math.inf
    for _ in range(tries):
        started = time.perf_counter()
        total = 0
        for i in range(additions):
            total += i
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def describe() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "python_loop_ms": python_yardstick_ms(),
        "platform": platform.platform(),
    }
