"""The loader refuses a bad ruleset before anything runs, and says why."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from departure_screening.screening.ruleset import RulesetError, default_rules_dir, load_ruleset


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    return target


def _edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def _problems(directory: Path) -> list[str]:
    with pytest.raises(RulesetError) as info:
        load_ruleset(directory)
    return info.value.problems


def test_shipped_ruleset_matches_the_policy_table() -> None:
    rs = load_ruleset(default_rules_dir())
    assert rs.name == "imi-gr-1029-2017"
    weights = {i.code: i.weight for i in rs.indicators}
    assert weights == {
        "DESTINATION_WATCHLIST": 20,  # the highest watch-list weight
        "TOURIST_ENTRY_TO_WATCHLIST": 5,
        "WORK_WITHOUT_DISNAKER_RECOMMENDATION": 35,
        "NO_OFFICIAL_PLACEMENT_CHANNEL": 20,
        "PURPOSE_DOCUMENT_MISMATCH": 20,
        "MINOR_WITH_WORK_INTENT": 40,
        "GROUP_WITH_RECRUITER": 25,
        "REPEAT_ESCORT": 25,
        "PRIOR_POSTPONEMENT": 15,
        "NO_RETURN_TICKET": 10,
        "UNCLEAR_TRAVEL_PURPOSE": 15,
        "PASSPORT_RECENTLY_ISSUED": 5,
        "LICENSED_TOUR_GROUP": -15,
    }
    assert dict(rs.lists.watchlist) == {"KH": 20, "MM": 20, "LA": 15, "PH": 10, "TH": 10}
    assert [(b.band, b.min_score, b.action) for b in rs.bands] == [
        ("RISK_BAND_LOW", 0, "ACTION_PROCEED"),
        ("RISK_BAND_ELEVATED", 30, "ACTION_SECONDARY_INTERVIEW"),
        ("RISK_BAND_HIGH", 60, "ACTION_POSTPONE_PENDING_VERIFICATION"),
    ]
    assert rs.indicator("WORK_WITHOUT_DISNAKER_RECOMMENDATION").title_id == (
        "Tujuan bekerja tanpa rekomendasi Disnaker"
    )
    for ind in rs.indicators:
        assert ind.title and ind.title_id and ind.description
        if not ind.mitigating:
            assert ind.legal_basis and ind.remedy


def test_version_is_declared_version_plus_content_hash(rules_copy: Path) -> None:
    before = load_ruleset(rules_copy).version
    assert before.startswith("imi-gr-1029-2017@1.0.0+")
    _edit(rules_copy / "indicators.yaml", lambda d: d["indicators"][1].update(weight=6))
    after = load_ruleset(rules_copy).version
    assert after.startswith("imi-gr-1029-2017@1.0.0+") and after != before


@pytest.mark.parametrize("field", ["religion", "sex", "ethnicity", "region_of_origin", "name"])
def test_rule_over_a_personal_field_is_refused(rules_copy: Path, field: str) -> None:
    _edit(
        rules_copy / "indicators.yaml",
        lambda d: d["indicators"][0].update(when={"$and": [{field: "X"}, {"work_intent": True}]}),
    )
    problems = _problems(rules_copy)
    assert any(
        f"refers to '{field}', which describes who a person is" in p
        and "DESTINATION_WATCHLIST" in p
        for p in problems
    ), problems


def test_unknown_field_is_refused(rules_copy: Path) -> None:
    _edit(
        rules_copy / "indicators.yaml",
        lambda d: d["indicators"][2].update(when={"$lt": {"salary": 5}}),
    )
    assert any(
        "'salary' is not a field of the allowed fact schema" in p for p in _problems(rules_copy)
    )


def test_duplicate_codes_are_refused(rules_copy: Path) -> None:
    _edit(
        rules_copy / "indicators.yaml",
        lambda d: d["indicators"][1].update(code="DESTINATION_WATCHLIST"),
    )
    assert any("used by more than one indicator" in p for p in _problems(rules_copy))


def test_unordered_thresholds_are_refused(rules_copy: Path) -> None:
    _edit(rules_copy / "ruleset.yaml", lambda d: d["bands"][2].update(min_score=20))
    assert any("min_score must strictly increase" in p for p in _problems(rules_copy))


def test_wrong_values_and_operators_are_refused(rules_copy: Path) -> None:
    def change(d):  # type: ignore[no-untyped-def]
        d["indicators"][0]["when"] = {"purpose": "PURPOSE_WROK"}
        d["indicators"][1]["when"] = {"$between": {"age_on_departure": 1}}
        d["indicators"][2]["when"] = {"$lt": {"age_on_departure": "eighteen"}}
        d["indicators"][3]["extra"] = 1

    _edit(rules_copy / "indicators.yaml", change)
    text = "\n".join(_problems(rules_copy))
    assert "'PURPOSE_WROK' is not a value of 'purpose'" in text
    assert "operator '$between' is not supported" in text
    assert "'age_on_departure' is a whole number" in text
    assert "unknown key 'extra'" in text


def test_cli_validate_refuses_a_forbidden_field(rules_copy: Path) -> None:
    _edit(
        rules_copy / "indicators.yaml", lambda d: d["indicators"][0].update(when={"religion": "X"})
    )
    result = subprocess.run(
        [sys.executable, "-m", "departure_screening", "rules", "validate", str(rules_copy)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "refers to 'religion'" in result.stdout
    ok = subprocess.run(
        [sys.executable, "-m", "departure_screening", "rules", "validate"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0 and "13 indicators" in ok.stdout


def test_the_group_threshold_of_the_alert_and_the_indicator_must_agree(rules_copy: Path) -> None:
    rules = rules_copy

    def alert_at_four(meta):  # type: ignore[no-untyped-def]
        meta["context"]["group_alert_members"] = 4

    _edit(rules / "ruleset.yaml", alert_at_four)
    problems = _problems(rules)
    assert any(
        "GROUP_WITH_RECRUITER: group_members >= 3 differs" in p and "(4)" in p for p in problems
    ), problems
