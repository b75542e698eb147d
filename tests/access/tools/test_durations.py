"""The `--ttl` duration: valid durations read back exactly, anything else is a usage error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from departure_screening.access.tokens_issue import (
    MAX_TTL_SECONDS,
    format_duration,
    parse_duration,
)
from departure_screening.cli import main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
VALID = re.compile(r"([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?")


@given(st.integers(min_value=1, max_value=MAX_TTL_SECONDS))
def test_formatted_durations_read_back(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.tuples(*(st.none() | st.integers(0, 10_000) for _ in UNITS)))
def test_a_duration_is_the_sum_of_its_parts(parts: tuple[int | None, ...]) -> None:
    text = "".join(f"{n}{unit}" for n, (unit, _) in zip(parts, UNITS, strict=True) if n is not None)
    total = sum(n * f for n, (_, f) in zip(parts, UNITS, strict=True) if n is not None)
    if 0 < total <= MAX_TTL_SECONDS:
        assert parse_duration(text) == total
    else:
        with pytest.raises(ValueError):
            parse_duration(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("8h", 28800), ("30m", 1800), ("1h30m", 5400), ("90s", 90), ("2d", 172800)],
)
def test_examples(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


_garbage = st.text(max_size=12).filter(lambda t: not VALID.fullmatch(t)) | st.sampled_from(
    [
        "",
        "0s",
        "0h0m",
        "8",
        "h",
        "8H",
        "1m1h",
        "1h1h",
        "-5m",
        "5 m",
        " 5m",
        "1.5h",
        "367d",
        "\u0663h",
        "\uff18h",
    ]
)


@given(_garbage)
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_garbage)
def test_garbage_ttl_is_a_usage_error(
    pki: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    key = str(pki / "officer-signing.key")
    with pytest.raises(SystemExit) as exit_:
        main(["token", "issue", "--key", key, "--officer", "o-1", f"--ttl={text}"])
    assert exit_.value.code == 2
    assert "--ttl" in capsys.readouterr().err
