"""What the service answered for each screening of an exercise."""

from __future__ import annotations

from dataclasses import dataclass, field

from departure_screening.exercise.generate import Truth
from departure_screening.v1 import screening_pb2 as pb


@dataclass(frozen=True)
class FiredSummary:
    code: str
    weight: int
    title: str = ""
    remedy: str = ""


@dataclass(frozen=True)
class Observed:
    """What the service answered for one screening, reduced to what the debrief needs."""

    assessment_id: str
    score: int
    band: str
    action: str
    indicators: tuple[FiredSummary, ...]
    ruleset_version: str = ""

    @property
    def flagged(self) -> bool:
        """Positive for the debrief: anything above the lowest band."""
        return self.band in ("RISK_BAND_ELEVATED", "RISK_BAND_HIGH")

    def fired(self, code: str) -> bool:
        return any(i.code == code for i in self.indicators)

    @staticmethod
    def from_assessment(a: pb.Assessment) -> Observed:
        return Observed(
            assessment_id=a.assessment_id,
            score=a.score,
            band=pb.RiskBand.Name(a.band),
            action=pb.Action.Name(a.recommended_action),
            indicators=tuple(
                FiredSummary(code=i.code, weight=i.weight, title=i.title, remedy=i.remedy)
                for i in a.indicators
            ),
            ruleset_version=a.ruleset_version,
        )


@dataclass(frozen=True)
class ItemResult:
    index: int
    request_id: str
    passport: str  # masked
    truth: Truth
    observed: Observed | None
    error: str = ""
    latency_ms: float | None = None


@dataclass
class RunResult:
    results: list[ItemResult]
    # Planted case → why it cannot be judged (a scripted decision could not be recorded).
    not_evaluable: dict[str, str] = field(default_factory=dict)

    @property
    def ruleset_version(self) -> str:
        return next((r.observed.ruleset_version for r in self.results if r.observed), "")
