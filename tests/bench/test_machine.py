"""The host description a benchmark report carries."""

from __future__ import annotations

import platform
from pathlib import Path

from departure_screening.bench.machine import cpu_model, describe, python_yardstick_ms


def test_cpu_model_is_read_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n"
        "processor\t: 1\nmodel name\t: AMD EPYC 7B13\n"
    )
    assert cpu_model(cpuinfo) == "AMD EPYC 7B13"


def test_cpu_model_without_cpuinfo_falls_back_to_the_platform(tmp_path: Path) -> None:
    assert cpu_model(tmp_path / "absent") == (platform.processor() or "unknown")


def test_cpu_model_ignores_an_empty_model_name(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("model name\t:\nmodel name\t: Neoverse-N1\n")
    assert cpu_model(cpuinfo) == "Neoverse-N1"


def test_yardstick_is_a_positive_time_in_milliseconds() -> None:
    assert python_yardstick_ms(additions=10_000, tries=2) > 0


def test_description_names_the_host() -> None:
    host = describe()
    assert set(host) == {"cpus", "cpu", "python", "python_loop_ms", "platform"}
    assert host["python"] == platform.python_version()
