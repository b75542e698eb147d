"""``depscreen rules shadow-report``: what the shadow ruleset said beside what was served.

The report has the backtest's shape, the shadow in the candidate's place, so an
analyst reads both the same way. Assessments in range that have no shadow result
(none was running, or they kept no facts) count as ``skipped``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from departure_screening.screening.backtest import Backtest, Replayed, compare
from departure_screening.screening.shadow import ShadowResult


class ShadowRecord(Replayed, Protocol):
    """A stored assessment, its last decision and its shadow result, if any."""

    @property
    def shadow(self) -> ShadowResult | None: ...


def shadow_report(
    records: Iterable[ShadowRecord], tick: Callable[[], None] = lambda: None
) -> Backtest:
    report = Backtest(candidate="")
    versions: set[str] = set()
    for record in records:
        tick()
        shadow = record.shadow
        # Preliminary assessments are skipped as by the backtest (the counter's supersedes).
        if shadow is None or record.assessment.preliminary:
            report.skipped += 1
            continue
        versions.add(shadow.ruleset_version)
        report.codes |= set(shadow.codes)
        compare(report, record, shadow.band, shadow.recommended_action, shadow.codes)
    # Shadow rulesets reloaded over the period: each of them is named.
    report.candidate = ", ".join(sorted(versions))
    return report
