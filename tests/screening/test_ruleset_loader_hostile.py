"""Rulesets the fuzzer (tests/fuzz/ruleset_loader.py) or its harness review found crashing
the loader: each must be refused with RulesetError naming the problem, never another error."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest
from departure_screening.screening.ruleset import RulesetError, default_rules_dir, load_ruleset

SHIPPED = default_rules_dir()
META = (SHIPPED / "ruleset.yaml").read_bytes()
INDICATORS = (SHIPPED / "indicators.yaml").read_bytes()
FIRST_WHEN = b"when:\n      $gt: {watchlist_weight: 0}"


def _problems(tmp_path: Path, meta: bytes = META, indicators: bytes = INDICATORS) -> list[str]:
    (tmp_path / "ruleset.yaml").write_bytes(meta)
    (tmp_path / "indicators.yaml").write_bytes(indicators)
    with pytest.raises(RulesetError) as info:
        load_ruleset(tmp_path)
    assert info.value.problems
    return info.value.problems


def _doubling_aliases(levels: int) -> bytes:
    """Each anchor an $and of the one before, twice: 2**levels conditions when walked."""
    lines = [b"  a0: &a0 {work_intent: true}"]
    lines += [b"  a%d: &a%d {$and: [*a%d, *a%d]}" % (i, i, i - 1, i - 1) for i in range(1, levels)]
    return b"x:\n" + b"\n".join(lines) + b"\n" + INDICATORS.replace(FIRST_WHEN, b"when: *a29", 1)


def test_the_first_fuzzed_crash_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    # crash-c3b39972: "42", a comment of 0xff bytes, a list (UnicodeDecodeError escaped).
    data = base64.b64decode(
        "NDIKCiP//////////////////////y0tLSBpbmRpcnRjb2FzLnlhbWwgLS0tCi0ganVzdAotIGEgbGlzdAo="
    )
    assert _problems(tmp_path, meta=data) == [
        "ruleset.yaml: not UTF-8 text: invalid start byte at byte 5"
    ]


def test_a_date_that_is_no_date(tmp_path: Path) -> None:
    # PyYAML reads 2026-02-30 as a timestamp and raises ValueError, not a YAMLError.
    (problem,) = _problems(tmp_path, meta=META + b"\ndescription: 2026-02-30\n")
    assert problem.startswith("ruleset.yaml: not valid YAML: day is out of range")


def test_nesting_deeper_than_the_parser_recurses(tmp_path: Path) -> None:
    # 2,000 nested flow mappings: RecursionError inside the YAML parser.
    deep = b"indicators: " + b"{a: " * 2000 + b"}" * 2000
    assert _problems(tmp_path, indicators=deep) == ["indicators.yaml: nested too deeply"]


def test_an_alias_inside_itself(tmp_path: Path) -> None:
    # A condition that is an $and of itself: RecursionError in the condition check.
    looped = INDICATORS.replace(FIRST_WHEN, b"when: &w\n      $and: [*w]", 1)
    (problem,) = _problems(tmp_path, indicators=looped)
    assert "alias refers to itself" in problem


def test_aliases_that_double_at_each_level_are_refused_quickly(tmp_path: Path) -> None:
    # 30 lines standing for 2**29 conditions: the check would have run for hours.
    started = time.perf_counter()
    (problem,) = _problems(tmp_path, indicators=_doubling_aliases(30))
    assert "more than 100000 values" in problem
    assert time.perf_counter() - started < 5


def test_an_anchor_shared_a_few_times_still_loads(tmp_path: Path) -> None:
    # Anchors are YAML an analyst may use: only the pathological shapes are refused.
    shared = INDICATORS.replace(FIRST_WHEN, b"when: &w\n      $gt: {watchlist_weight: 0}", 1)
    shared = shared.replace(b"      - destination_on_watchlist: true", b"      - *w", 1)
    (tmp_path / "ruleset.yaml").write_bytes(META)
    (tmp_path / "indicators.yaml").write_bytes(shared)
    assert load_ruleset(tmp_path).indicators


@pytest.mark.parametrize(
    ("meta", "indicators", "expected"),
    [
        pytest.param(
            META.replace(b"placement_countries: [MY,", b"placement_countries: [{a: 1}, MY,"),
            INDICATORS,
            "ruleset.yaml: lists.placement_countries: {'a': 1} is not an ISO 3166-1 alpha-2 code",
            id="a mapping among country codes (TypeError: unhashable)",
        ),
        pytest.param(
            META.replace(b"purposes: [PURPOSE_WORK]", b"purposes: [[PURPOSE_WORK]]"),
            INDICATORS,
            "ruleset.yaml: lists.work_intent.purposes: ['PURPOSE_WORK'] is not one of",
            id="a list among enum values (TypeError: unhashable)",
        ),
        pytest.param(
            META + b"1: x\nz: y\n",
            INDICATORS,
            "ruleset.yaml: unknown key '1'",
            id="a number and a text among unknown keys (TypeError: sorting them)",
        ),
        pytest.param(
            META,
            INDICATORS.replace(b"$gt: {watchlist_weight: 0}", b"1: {watchlist_weight: 0}", 1),
            "indicators.yaml: DESTINATION_WATCHLIST: when: (top): field names are text",
            id="a number as a condition key (AttributeError: startswith)",
        ),
        pytest.param(
            META,
            INDICATORS.replace(
                b"evidence: [destination_country, transit_countries, watchlist_weight]",
                b"evidence: [[destination_country]]",
                1,
            ),
            "indicators.yaml: DESTINATION_WATCHLIST: evidence field ['destination_country']",
            id="a list as an evidence field (TypeError: unhashable)",
        ),
        pytest.param(
            META.replace(b"KH: 20", b"KH: high"),
            INDICATORS,
            "ruleset.yaml: lists.watchlist.KH: weight must be a whole number 0-100",
            id="a text watch-list weight with weight_from (TypeError: comparing it)",
        ),
    ],
)
def test_values_of_the_wrong_type(
    tmp_path: Path, meta: bytes, indicators: bytes, expected: str
) -> None:
    problems = _problems(tmp_path, meta, indicators)
    assert any(p.startswith(expected) for p in problems), problems
