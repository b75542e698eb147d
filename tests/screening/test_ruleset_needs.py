"""``needs``: each indicator says which inputs it needs, and never fewer than it reads."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from departure_screening import domain
from departure_screening.screening.ruleset import RulesetError, default_rules_dir, load_ruleset
from departure_screening.screening.scoring import not_evaluated


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    return target


def _set_needs(directory: Path, code: str, needs: Any) -> None:
    path = directory / "indicators.yaml"
    data = yaml.safe_load(path.read_text())
    for item in data["indicators"]:
        if item["code"] == code:
            if needs is None:
                del item["needs"]
            else:
                item["needs"] = needs
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def test_shipped_indicators_need_what_airline_data_lacks() -> None:
    rs = load_ruleset(default_rules_dir())
    skipped = not_evaluated(rs, domain.PRELIMINARY_LACKS)
    evaluated = {i.code for i in rs.indicators} - set(skipped)
    assert evaluated == {"DESTINATION_WATCHLIST", "PRIOR_POSTPONEMENT", "PASSPORT_RECENTLY_ISSUED"}
    assert not_evaluated(rs, frozenset()) == ()
    assert not_evaluated(rs, {domain.INPUT_PASSPORT_ISSUE_DATE}) == ("PASSPORT_RECENTLY_ISSUED",)


def test_needs_fewer_than_the_condition_reads_is_refused(rules_copy: Path) -> None:
    _set_needs(rules_copy, "WORK_WITHOUT_DISNAKER_RECOMMENDATION", ["declaration"])
    with pytest.raises(RulesetError) as info:
        load_ruleset(rules_copy)
    assert info.value.problems == [
        "indicators.yaml: WORK_WITHOUT_DISNAKER_RECOMMENDATION: needs: 'observations' is"
        " missing; the indicator reads work_intent"
    ]


def test_an_unknown_input_is_refused(rules_copy: Path) -> None:
    _set_needs(rules_copy, "PRIOR_POSTPONEMENT", ["traveller.name"])
    with pytest.raises(RulesetError) as info:
        load_ruleset(rules_copy)
    assert len(info.value.problems) == 1
    assert "'traveller.name' is not an input" in info.value.problems[0]


def test_more_than_the_condition_reads_is_kept(rules_copy: Path) -> None:
    # An analyst may hold an indicator back until the officer has seen the traveller.
    _set_needs(rules_copy, "DESTINATION_WATCHLIST", ["observations"])
    rs = load_ruleset(rules_copy)
    assert "DESTINATION_WATCHLIST" in not_evaluated(rs, domain.PRELIMINARY_LACKS)


def test_without_needs_they_come_from_the_condition(rules_copy: Path) -> None:
    _set_needs(rules_copy, "NO_RETURN_TICKET", None)
    rs = load_ruleset(rules_copy)
    assert rs.indicator("NO_RETURN_TICKET").needs == {
        domain.INPUT_DECLARATION,
        domain.INPUT_RETURN_TICKET,
    }
