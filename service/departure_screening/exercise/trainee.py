"""A trainee's own debrief of a drill: each decision against the truth and the service.

Pure data and text, no I/O beyond reading and writing the debrief files. The drill
records a ``Decision`` per traveller the trainee judged; ``TraineeDebrief`` adds who the
trainee is (an id, never a name), which exercise it was, and the documentation of every
profile and case seen, so that a class report needs nothing but the debriefs.

A decision "stops" a traveller when it is an interview or a postponement; stopping is
right for an at-risk traveller and wrong for a genuine one, as in the drill's scoring.
Postponing a genuine traveller is listed on its own: it keeps someone from leaving.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from departure_screening.exercise.results import FiredSummary
from departure_screening.exercise.scenario import Guidance, Scenario

FORMAT = "depscreen-drill-debrief/v1"
JSON_NAME = "debrief.json"
MARKDOWN_NAME = "debrief.md"

PROCEED, INTERVIEW, POSTPONE = (
    "ACTION_PROCEED",
    "ACTION_SECONDARY_INTERVIEW",
    "ACTION_POSTPONE_PENDING_VERIFICATION",
)
ACTION_WORDS = {
    PROCEED: "proceed",
    INTERVIEW: "secondary interview",
    POSTPONE: "postpone pending verification",
}
_STRICTNESS = {PROCEED: 0, INTERVIEW: 1, POSTPONE: 2}

# An id such as T07 or bdg-2024-11: letters, digits, '-' and '_', with at least one digit,
# so that a person's name does not end up labelling results by mistake.
_TRAINEE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")


class DebriefError(ValueError):
    """A debrief file that cannot be read, or debriefs that do not belong together."""


def check_trainee_id(text: str) -> str:
    value = text.strip()
    if not _TRAINEE_RE.match(value) or not any(ch.isdigit() for ch in value):
        raise ValueError(
            f"{text!r} is not a trainee id: use 1-32 letters, digits, '-' or '_' with at "
            "least one digit, such as T07 (an id the instructor assigns, not a name)"
        )
    return value


@dataclass(frozen=True)
class Decision:
    """One traveller the trainee judged, with what the service recommended."""

    turn: int
    request_id: str
    passport: str  # masked
    case: str
    at_risk: bool
    step: str
    action: str
    seconds: float
    service_action: str
    service_band: str
    service_score: int
    indicators: tuple[FiredSummary, ...] = ()

    @property
    def stopped(self) -> bool:
        return self.action != PROCEED

    @property
    def service_stopped(self) -> bool:
        return self.service_action != PROCEED

    @property
    def right(self) -> bool:
        return self.stopped == self.at_risk

    @property
    def service_right(self) -> bool:
        return self.service_stopped == self.at_risk

    @property
    def overrode(self) -> bool:
        """The trainee chose another action than the service recommended."""
        return self.action != self.service_action

    @property
    def versus_service(self) -> str:
        mine, theirs = _STRICTNESS[self.action], _STRICTNESS.get(self.service_action, 0)
        if mine == theirs:
            return "same"
        return "stricter" if mine > theirs else "more lenient"

    @property
    def outcome(self) -> str:
        if self.at_risk:
            return "recruit stopped" if self.stopped else "recruit let through"
        return {
            PROCEED: "genuine cleared",
            INTERVIEW: "genuine interviewed",
            POSTPONE: "genuine postponed",
        }[self.action]

    def to_json(self) -> dict[str, object]:
        return {
            "turn": self.turn,
            "request_id": self.request_id,
            "passport": self.passport,
            "case": self.case,
            "at_risk": self.at_risk,
            "step": self.step,
            "action": self.action,
            "seconds": self.seconds,
            "service": {
                "action": self.service_action,
                "band": self.service_band,
                "score": self.service_score,
                "indicators": [
                    {"code": i.code, "weight": i.weight, "title": i.title, "remedy": i.remedy}
                    for i in self.indicators
                ],
            },
            "right": self.right,
            "service_right": self.service_right,
            "versus_service": self.versus_service,
            "overrode": self.overrode,
            "outcome": self.outcome,
        }

    @staticmethod
    def from_json(raw: Mapping[str, Any]) -> Decision:
        service = raw["service"]
        return Decision(
            turn=int(raw["turn"]),
            request_id=str(raw["request_id"]),
            passport=str(raw["passport"]),
            case=str(raw["case"]),
            at_risk=bool(raw["at_risk"]),
            step=str(raw.get("step", "")),
            action=_action(raw["action"]),
            seconds=float(raw["seconds"]),
            service_action=_action(service["action"]),
            service_band=str(service["band"]),
            service_score=int(service["score"]),
            indicators=tuple(
                FiredSummary(
                    code=str(i["code"]),
                    weight=int(i["weight"]),
                    title=str(i.get("title", "")),
                    remedy=str(i.get("remedy", "")),
                )
                for i in service.get("indicators", [])
            ),
        )


def _action(value: object) -> str:
    if value not in _STRICTNESS:
        raise DebriefError(f"unknown action {value!r}")
    return str(value)


@dataclass(frozen=True)
class Rates:
    """Error rates over a set of decisions, the trainee's own or the service's."""

    answered: int
    genuine: int
    at_risk: int
    false_alarms: int  # genuine travellers stopped
    postponed_genuine: int
    misses: int  # at-risk travellers let through
    right: int

    @property
    def false_alarm_rate(self) -> float | None:
        return self.false_alarms / self.genuine if self.genuine else None

    @property
    def miss_rate(self) -> float | None:
        return self.misses / self.at_risk if self.at_risk else None

    @property
    def accuracy(self) -> float | None:
        return self.right / self.answered if self.answered else None

    def to_json(self) -> dict[str, object]:
        return {
            "answered": self.answered,
            "genuine": self.genuine,
            "at_risk": self.at_risk,
            "false_alarms": self.false_alarms,
            "postponed_genuine": self.postponed_genuine,
            "misses": self.misses,
            "right": self.right,
            "false_alarm_rate": _round(self.false_alarm_rate),
            "miss_rate": _round(self.miss_rate),
            "accuracy": _round(self.accuracy),
        }


def trainee_rates(decisions: Iterable[Decision]) -> Rates:
    ds = list(decisions)
    return Rates(
        answered=len(ds),
        genuine=sum(not d.at_risk for d in ds),
        at_risk=sum(d.at_risk for d in ds),
        false_alarms=sum(d.stopped and not d.at_risk for d in ds),
        postponed_genuine=sum(d.action == POSTPONE and not d.at_risk for d in ds),
        misses=sum(not d.stopped and d.at_risk for d in ds),
        right=sum(d.right for d in ds),
    )


def service_rates(decisions: Iterable[Decision]) -> Rates:
    """The service's recommendations on the same travellers, scored the same way."""
    ds = list(decisions)
    return Rates(
        answered=len(ds),
        genuine=sum(not d.at_risk for d in ds),
        at_risk=sum(d.at_risk for d in ds),
        false_alarms=sum(d.service_stopped and not d.at_risk for d in ds),
        postponed_genuine=sum(d.service_action == POSTPONE and not d.at_risk for d in ds),
        misses=sum(not d.service_stopped and d.at_risk for d in ds),
        right=sum(d.service_right for d in ds),
    )


@dataclass(frozen=True)
class TraineeDebrief:
    trainee: str
    scenario: str
    description: str
    fingerprint: str
    seed: int
    ruleset_version: str
    presented: int
    decisions: tuple[Decision, ...]
    quit_early: bool = False
    rejected: int = 0
    # Documentation of each profile and case the trainee saw, by name.
    guidance: Mapping[str, Guidance] = field(default_factory=dict)

    @property
    def rates(self) -> Rates:
        return trainee_rates(self.decisions)

    @property
    def service(self) -> Rates:
        return service_rates(self.decisions)

    @property
    def agreed(self) -> int:
        return sum(not d.overrode for d in self.decisions)

    @property
    def median_seconds(self) -> float | None:
        times = [d.seconds for d in self.decisions]
        return round(statistics.median(times), 1) if times else None

    @property
    def genuine_postponed(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if not d.at_risk and d.action == POSTPONE)

    @property
    def recruits_let_through(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.at_risk and not d.stopped)

    @property
    def overrides(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.overrode)

    def exercise_key(self) -> tuple[str, str, int]:
        """Debriefs of one exercise share scenario, scenario version and seed."""
        return (self.scenario, self.fingerprint, self.seed)

    def to_json(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "trainee": self.trainee,
            "exercise": {
                "scenario": self.scenario,
                "description": self.description,
                "fingerprint": self.fingerprint,
                "seed": self.seed,
            },
            "ruleset_version": self.ruleset_version,
            "presented": self.presented,
            "answered": len(self.decisions),
            "quit_early": self.quit_early,
            "rejected": self.rejected,
            "rates": self.rates.to_json(),
            "service_rates": self.service.to_json(),
            "agreed_with_service": self.agreed,
            "median_seconds": self.median_seconds,
            "genuine_postponed": [d.turn for d in self.genuine_postponed],
            "recruits_let_through": [d.turn for d in self.recruits_let_through],
            "overrides": {
                "right": [d.turn for d in self.overrides if d.right],
                "wrong": [d.turn for d in self.overrides if not d.right],
            },
            "decisions": [d.to_json() for d in self.decisions],
            "guidance": {
                name: {
                    "at_risk": g.at_risk,
                    "description": g.description,
                    "why": g.why,
                    "officer": g.officer,
                }
                for name, g in sorted(self.guidance.items())
            },
        }

    @staticmethod
    def from_json(raw: Mapping[str, Any]) -> TraineeDebrief:
        if raw.get("format") != FORMAT:
            raise DebriefError(f"not a drill debrief (format {raw.get('format')!r})")
        exercise = raw["exercise"]
        return TraineeDebrief(
            trainee=check_trainee_id(str(raw["trainee"])),
            scenario=str(exercise["scenario"]),
            description=str(exercise.get("description", "")),
            fingerprint=str(exercise["fingerprint"]),
            seed=int(exercise["seed"]),
            ruleset_version=str(raw.get("ruleset_version", "")),
            presented=int(raw["presented"]),
            decisions=tuple(Decision.from_json(d) for d in raw["decisions"]),
            quit_early=bool(raw.get("quit_early", False)),
            rejected=int(raw.get("rejected", 0)),
            guidance={
                name: Guidance(
                    name=name,
                    at_risk=bool(g["at_risk"]),
                    description=str(g.get("description", "")),
                    why=str(g.get("why", "")),
                    officer=str(g.get("officer", "")),
                )
                for name, g in raw.get("guidance", {}).items()
            },
        )


def build_debrief(
    decisions: Sequence[Decision],
    scenario: Scenario,
    *,
    trainee: str,
    seed: int,
    presented: int,
    quit_early: bool = False,
    rejected: int = 0,
    ruleset_version: str = "",
) -> TraineeDebrief:
    return TraineeDebrief(
        trainee=check_trainee_id(trainee),
        scenario=scenario.name,
        description=scenario.description,
        fingerprint=scenario.fingerprint,
        seed=seed,
        ruleset_version=ruleset_version,
        presented=presented,
        decisions=tuple(decisions),
        quit_early=quit_early,
        rejected=rejected,
        guidance={d.case: scenario.guidance(d.case, at_risk=d.at_risk) for d in decisions},
    )


# --------------------------------------------------------------------------- files


def write_debrief(debrief: TraineeDebrief, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / JSON_NAME
    json_path.write_text(
        json.dumps(debrief.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    md_path = out_dir / MARKDOWN_NAME
    md_path.write_text(render_markdown(debrief), encoding="utf-8")
    return json_path, md_path


def read_debrief(path: Path) -> TraineeDebrief:
    """A debrief from its directory (or the JSON file itself)."""
    file = path / JSON_NAME if path.is_dir() else path
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DebriefError(f"{path}: no {JSON_NAME} (is it a drill's --out directory?)") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise DebriefError(f"{file}: cannot read: {exc}") from exc
    try:
        return TraineeDebrief.from_json(raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise DebriefError(f"{file}: not a valid drill debrief: {exc}") from exc


# --------------------------------------------------------------------------- text


def render_markdown(d: TraineeDebrief) -> str:
    r, s = d.rates, d.service
    lines = [
        f"# Drill debrief: trainee {d.trainee}",
        "",
        f"Exercise `{d.scenario}` (seed {d.seed}, scenario version {d.fingerprint}), "
        f"ruleset {d.ruleset_version or 'unknown'}, training mode. {d.description}",
        "",
        f"You judged {len(d.decisions)} of {d.presented} travellers"
        + (" and stopped early." if d.quit_early else ".")
        + (f" {d.rejected} screening(s) were rejected by the service." if d.rejected else ""),
        "",
        "| | you | the service |",
        "| --- | --- | --- |",
        f"| right against the ground truth | {_part(r.right, r.answered)} "
        f"| {_part(s.right, s.answered)} |",
        f"| genuine travellers stopped (false alarms) | {_part(r.false_alarms, r.genuine)} "
        f"| {_part(s.false_alarms, s.genuine)} |",
        f"| genuine travellers postponed | {r.postponed_genuine} | {s.postponed_genuine} |",
        f"| recruits let through (misses) | {_part(r.misses, r.at_risk)} "
        f"| {_part(s.misses, s.at_risk)} |",
        "",
        f"You chose the service's recommended action for {_part(d.agreed, len(d.decisions))} "
        f"travellers; median time per decision {_seconds(d.median_seconds)}.",
        "",
    ]
    lines += _section(
        d,
        "Genuine travellers you postponed",
        d.genuine_postponed,
        "Postponing a genuine traveller keeps them from leaving: the remedies below are "
        "what they could have shown you.",
    )
    lines += _section(
        d,
        "Recruits you let through",
        d.recruits_let_through,
        "",
    )
    lines += _section(
        d,
        "Where you overrode the service and were right",
        tuple(x for x in d.overrides if x.right),
        "",
    )
    lines += _section(
        d,
        "Where you overrode the service and were wrong",
        tuple(x for x in d.overrides if not x.right),
        "",
    )
    lines += [
        "## Every decision",
        "",
        "| turn | passport | truth | profile or case | you | service | time |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for x in d.decisions:
        lines.append(
            f"| {x.turn} | `{x.passport}` | {'at risk' if x.at_risk else 'genuine'} "
            f"| {x.case} | {ACTION_WORDS[x.action]} ({'right' if x.right else 'wrong'}) "
            f"| {ACTION_WORDS.get(x.service_action, x.service_action)}, "
            f"{_band(x.service_band)} {x.service_score} | {_seconds(x.seconds)} |"
        )
    return "\n".join(lines) + "\n"


def _section(d: TraineeDebrief, title: str, decisions: Sequence[Decision], intro: str) -> list[str]:
    lines = [f"## {title}", ""]
    if not decisions:
        return [*lines, "None.", ""]
    if intro:
        lines += [intro, ""]
    for x in decisions:
        lines += settling_lines(x, d.guidance.get(x.case))
    return lines


def settling_lines(x: Decision, guidance: Guidance | None) -> list[str]:
    """One decision with the indicators, remedies and guidance that would have settled it."""
    truth = "at risk" if x.at_risk else "genuine"
    step = f", {x.step}" if x.step else ""
    lines = [
        f"### Turn {x.turn}: {x.case} ({truth}{step}), passport `{x.passport}`",
        "",
        f"You chose **{ACTION_WORDS[x.action]}** in {_seconds(x.seconds)}; the service "
        f"recommended {ACTION_WORDS.get(x.service_action, x.service_action)} "
        f"(band {_band(x.service_band)}, score {x.service_score}). "
        f"You were {'right' if x.right else 'wrong'}; the service was "
        f"{'right' if x.service_right else 'wrong'}.",
        "",
    ]
    if x.indicators:
        lines.append("Indicators that fired, and what settles each:")
        lines.append("")
        for i in x.indicators:
            remedy = "mitigating: lowers the score" if i.weight < 0 else i.remedy or "-"
            lines.append(f"- `{i.code}` ({i.weight:+d}): {remedy}")
        lines.append("")
    else:
        lines += ["No indicator fired: only the interview could tell.", ""]
    if guidance is not None and (guidance.why or guidance.officer):
        if guidance.why:
            lines += [f"Why such travellers exist: {guidance.why}", ""]
        if guidance.officer:
            lines += [f"What settles it at the counter: {guidance.officer}", ""]
    return lines


def _part(part: int, whole: int) -> str:
    return f"{part} of {whole} ({100 * part / whole:.0f} %)" if whole else "n/a"


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def _band(band: str) -> str:
    return band.removeprefix("RISK_BAND_")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
