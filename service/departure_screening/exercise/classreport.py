"""The class report: several trainees' drill debriefs of one exercise, side by side.

``combine`` checks that the debriefs belong to one exercise (scenario, its version and
seed) and computes per-traveller outcomes across the class, the profiles and cases most
often misjudged, and each trainee's rates beside the class. ``write_class_report`` writes
``class-report.json``, ``class-report.html`` and the PNG plots; like the exercise
report, it needs the ``reports`` extra (matplotlib and jinja2).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
from matplotlib.figure import Figure

from departure_screening.exercise.scenario import Guidance
from departure_screening.exercise.trainee import (
    ACTION_WORDS,
    INTERVIEW,
    POSTPONE,
    PROCEED,
    DebriefError,
    Decision,
    Rates,
    TraineeDebrief,
    service_rates,
    trainee_rates,
)

JSON_NAME = "class-report.json"
HTML_NAME = "class-report.html"
RATES_PNG = "rates.png"
PROFILES_PNG = "profiles.png"
TRAVELLERS_PNG = "travellers.png"
ACTIONS = (PROCEED, INTERVIEW, POSTPONE)
_DPI = 100
_PNG_METADATA: dict[str, str | None] = {"Software": None}
_AT_RISK_COLOUR = "#c0392b"
_GENUINE_COLOUR = "#2e86c1"
_ACTION_COLOURS = {PROCEED: "#27ae60", INTERVIEW: "#f39c12", POSTPONE: "#8e44ad"}


@dataclass(frozen=True)
class TraineeLine:
    trainee: str
    rates: Rates
    agreed: int
    overrides_right: int
    overrides_wrong: int
    median_seconds: float | None
    quit_early: bool

    def to_json(self) -> dict[str, object]:
        return {
            "rates": self.rates.to_json(),
            "agreed_with_service": self.agreed,
            "overrides_right": self.overrides_right,
            "overrides_wrong": self.overrides_wrong,
            "median_seconds": self.median_seconds,
            "quit_early": self.quit_early,
        }


@dataclass(frozen=True)
class TravellerOutcome:
    """One traveller across the class: what each trainee chose, against the truth."""

    request_id: str
    passport: str
    case: str
    at_risk: bool
    step: str
    service_action: str
    service_band: str
    service_score: int
    indicators: tuple[tuple[str, int], ...]
    actions: tuple[tuple[str, int], ...]  # (action, trainees who chose it)
    right: int
    answered: int

    @property
    def wrong(self) -> int:
        return self.answered - self.right

    def to_json(self) -> dict[str, object]:
        return {
            "request_id": self.request_id,
            "passport": self.passport,
            "case": self.case,
            "at_risk": self.at_risk,
            "step": self.step,
            "service": {
                "action": self.service_action,
                "band": self.service_band,
                "score": self.service_score,
                "indicators": [{"code": c, "weight": w} for c, w in self.indicators],
            },
            "actions": dict(self.actions),
            "right": self.right,
            "wrong": self.wrong,
            "answered": self.answered,
        }


@dataclass(frozen=True)
class ProfileOutcome:
    """A population profile or planted case, over every decision of the class on it."""

    case: str
    at_risk: bool
    decisions: int
    wrong: int
    genuine_postponed: int
    recruits_let_through: int
    guidance: Guidance

    @property
    def wrong_share(self) -> float:
        return self.wrong / self.decisions if self.decisions else 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "case": self.case,
            "at_risk": self.at_risk,
            "decisions": self.decisions,
            "wrong": self.wrong,
            "wrong_share": round(self.wrong_share, 4),
            "genuine_postponed": self.genuine_postponed,
            "recruits_let_through": self.recruits_let_through,
            "description": self.guidance.description,
            "why": self.guidance.why,
            "officer": self.guidance.officer,
        }


@dataclass(frozen=True)
class ClassReport:
    scenario: str
    description: str
    fingerprint: str
    seed: int
    ruleset_versions: tuple[str, ...]
    trainees: tuple[TraineeLine, ...]
    travellers: tuple[TravellerOutcome, ...]
    # Most often misjudged first.
    profiles: tuple[ProfileOutcome, ...]
    class_rates: Rates
    service_rates: Rates

    def to_json(self) -> dict[str, object]:
        return {
            "exercise": {
                "scenario": self.scenario,
                "description": self.description,
                "fingerprint": self.fingerprint,
                "seed": self.seed,
            },
            "ruleset_versions": list(self.ruleset_versions),
            "class": self.class_rates.to_json(),
            "service": self.service_rates.to_json(),
            "trainees": {t.trainee: t.to_json() for t in self.trainees},
            "travellers": [t.to_json() for t in self.travellers],
            "profiles_most_misjudged": [p.to_json() for p in self.profiles],
        }


def combine(debriefs: Sequence[TraineeDebrief]) -> ClassReport:
    if not debriefs:
        raise DebriefError("no debrief to combine")
    first = debriefs[0]
    others = [d for d in debriefs if d.exercise_key() != first.exercise_key()]
    if others:
        described = "; ".join(
            f"{d.trainee}: {d.scenario} seed {d.seed} version {d.fingerprint}"
            for d in (first, *others)
        )
        raise DebriefError(f"the debriefs are not of one exercise ({described})")
    ids = Counter(d.trainee for d in debriefs)
    repeated = sorted(t for t, n in ids.items() if n > 1)
    if repeated:
        raise DebriefError(f"more than one debrief for trainee {', '.join(repeated)}")
    everything = [x for d in debriefs for x in d.decisions]
    guidance: dict[str, Guidance] = {}
    for d in debriefs:
        guidance.update(d.guidance)
    trainees = tuple(
        TraineeLine(
            trainee=d.trainee,
            rates=d.rates,
            agreed=d.agreed,
            overrides_right=sum(x.right for x in d.overrides),
            overrides_wrong=sum(not x.right for x in d.overrides),
            median_seconds=d.median_seconds,
            quit_early=d.quit_early,
        )
        for d in sorted(debriefs, key=lambda d: d.trainee)
    )
    travellers = _travellers(everything)
    unique = {x.request_id: x for x in everything}
    return ClassReport(
        scenario=first.scenario,
        description=first.description,
        fingerprint=first.fingerprint,
        seed=first.seed,
        ruleset_versions=tuple(sorted({d.ruleset_version for d in debriefs if d.ruleset_version})),
        trainees=trainees,
        travellers=travellers,
        profiles=_profiles(everything, guidance),
        class_rates=trainee_rates(everything),
        # Each traveller once: the service gave every trainee the same recommendation.
        service_rates=service_rates(unique.values()),
    )


def _travellers(decisions: Sequence[Decision]) -> tuple[TravellerOutcome, ...]:
    by_id: dict[str, list[Decision]] = {}
    for x in decisions:
        by_id.setdefault(x.request_id, []).append(x)
    outcomes = []
    # In the order they came to the counter; same seed, same order for every trainee.
    for request_id, xs in sorted(by_id.items(), key=lambda kv: (min(d.turn for d in kv[1]), kv[0])):
        x = xs[0]
        counts = Counter(d.action for d in xs)
        outcomes.append(
            TravellerOutcome(
                request_id=request_id,
                passport=x.passport,
                case=x.case,
                at_risk=x.at_risk,
                step=x.step,
                service_action=x.service_action,
                service_band=x.service_band,
                service_score=x.service_score,
                indicators=tuple((i.code, i.weight) for i in x.indicators),
                actions=tuple((a, counts[a]) for a in ACTIONS),
                right=sum(d.right for d in xs),
                answered=len(xs),
            )
        )
    return tuple(outcomes)


def _profiles(
    decisions: Sequence[Decision], guidance: dict[str, Guidance]
) -> tuple[ProfileOutcome, ...]:
    by_case: dict[tuple[str, bool], list[Decision]] = {}
    for x in decisions:
        by_case.setdefault((x.case, x.at_risk), []).append(x)
    profiles = [
        ProfileOutcome(
            case=case,
            at_risk=at_risk,
            decisions=len(xs),
            wrong=sum(not x.right for x in xs),
            genuine_postponed=sum(not x.at_risk and x.action == POSTPONE for x in xs),
            recruits_let_through=sum(x.at_risk and not x.stopped for x in xs),
            guidance=guidance.get(case) or Guidance(case, at_risk, "", "", ""),
        )
        for (case, at_risk), xs in by_case.items()
    ]
    return tuple(sorted(profiles, key=lambda p: (-p.wrong_share, -p.wrong, p.case)))


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class ClassReportFiles:
    json: Path
    html: Path
    plots: tuple[Path, ...]


def write_class_report(report: ClassReport, out_dir: Path) -> ClassReportFiles:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / JSON_NAME
    json_path.write_text(
        json.dumps(report.to_json(), sort_keys=True, indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    plots = (
        _plot_rates(report, out_dir / RATES_PNG),
        _plot_profiles(report, out_dir / PROFILES_PNG),
        _plot_travellers(report, out_dir / TRAVELLERS_PNG),
    )
    html_path = out_dir / HTML_NAME
    html_path.write_text(render_html(report), encoding="utf-8")
    return ClassReportFiles(json=json_path, html=html_path, plots=plots)


def render_html(report: ClassReport) -> str:
    env = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    env.filters["pct"] = _pct
    env.filters["band"] = lambda band: str(band).removeprefix("RISK_BAND_")
    return env.from_string(_TEMPLATE).render(
        r=report,
        actions=ACTIONS,
        words=ACTION_WORDS,
        rates_png=RATES_PNG,
        profiles_png=PROFILES_PNG,
        travellers_png=TRAVELLERS_PNG,
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f} %"


def _save(fig: Figure, path: Path) -> Path:
    # "tight" keeps long profile names and the legend below the axes inside the image.
    fig.savefig(path, dpi=_DPI, format="png", metadata=_PNG_METADATA, bbox_inches="tight")
    return path


def _plot_rates(report: ClassReport, path: Path) -> Path:
    rows = [(t.trainee, t.rates) for t in report.trainees]
    rows += [("class", report.class_rates), ("service", report.service_rates)]
    labels = [name for name, _ in rows]
    fig = Figure(figsize=(8.0, 0.45 * len(rows) + 1.6))
    ax = fig.add_subplot()
    positions = list(range(len(rows)))
    height = 0.38
    false_alarms = [r.false_alarm_rate or 0.0 for _, r in rows]
    misses = [r.miss_rate or 0.0 for _, r in rows]
    ax.barh(
        [p - height / 2 for p in positions],
        false_alarms,
        height,
        color=_GENUINE_COLOUR,
        label="false-alarm rate (genuine stopped)",
    )
    ax.barh(
        [p + height / 2 for p in positions],
        misses,
        height,
        color=_AT_RISK_COLOUR,
        label="miss rate (recruits let through)",
    )
    ax.set_yticks(positions, labels=labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("rate")
    ax.set_title("Each trainee beside the class and the service")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize="small")
    fig.tight_layout()
    return _save(fig, path)


def _plot_profiles(report: ClassReport, path: Path) -> Path:
    profiles = list(report.profiles)
    fig = Figure(figsize=(8.0, 0.4 * max(len(profiles), 3) + 1.2))
    ax = fig.add_subplot()
    positions = list(range(len(profiles)))
    names = [f"{p.case} ({p.wrong}/{p.decisions})" for p in profiles]
    colours = [_AT_RISK_COLOUR if p.at_risk else _GENUINE_COLOUR for p in profiles]
    ax.barh(positions, [p.wrong_share for p in profiles], color=colours)
    ax.set_yticks(positions, labels=names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the class's decisions that were wrong")
    ax.set_title("Most often misjudged (red: at risk, blue: genuine)")
    fig.tight_layout()
    return _save(fig, path)


def _plot_travellers(report: ClassReport, path: Path) -> Path:
    travellers = list(report.travellers)
    fig = Figure(figsize=(8.0, 0.35 * max(len(travellers), 3) + 1.4))
    ax = fig.add_subplot()
    # Numbered positions: two travellers of one profile must not share a bar.
    positions = list(range(len(travellers)))
    labels = [f"{n}. {t.case}{' *' if t.at_risk else ''}" for n, t in enumerate(travellers, 1)]
    left = [0] * len(travellers)
    for action in ACTIONS:
        counts = [dict(t.actions)[action] for t in travellers]
        ax.barh(
            positions,
            counts,
            left=left,
            color=_ACTION_COLOURS[action],
            label=ACTION_WORDS[action],
        )
        left = [a + b for a, b in zip(left, counts, strict=True)]
    ax.set_yticks(positions, labels=labels)
    ax.invert_yaxis()
    ax.set_xlabel("trainees")
    ax.set_title("What the class chose for each traveller (* at risk)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize="small")
    fig.tight_layout()
    return _save(fig, path)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Class report: {{ r.scenario }} (seed {{ r.seed }})</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.n { text-align: right; }
.right { color: #1e8449; } .wrong { color: #c0392b; }
figure { display: inline-block; margin: 0 1em 1em 0; }
</style>
</head>
<body>
<h1>Class report: {{ r.scenario }}</h1>
<p>{{ r.description }}</p>
<p>Seed {{ r.seed }} · scenario version {{ r.fingerprint }} ·
ruleset {{ r.ruleset_versions | join(", ") or "unknown" }} · training mode ·
{{ r.trainees | length }} trainees. A decision stops a traveller when it is an interview or a
postponement: right for an at-risk traveller, wrong for a genuine one.</p>

<h2>Each trainee beside the class</h2>
<table>
<tr><th>trainee</th><th>decisions</th><th>right</th><th>false-alarm rate</th>
<th>genuine postponed</th><th>miss rate</th><th>same action as the service</th>
<th>overrides right / wrong</th><th>median time</th></tr>
{% for t in r.trainees %}
<tr><td>{{ t.trainee }}{% if t.quit_early %} (stopped early){% endif %}</td>
<td class="n">{{ t.rates.answered }}</td><td class="n">{{ t.rates.accuracy | pct }}</td>
<td class="n">{{ t.rates.false_alarm_rate | pct }}</td>
<td class="n">{{ t.rates.postponed_genuine }}</td>
<td class="n">{{ t.rates.miss_rate | pct }}</td><td class="n">{{ t.agreed }}</td>
<td class="n">{{ t.overrides_right }} / {{ t.overrides_wrong }}</td>
<td class="n">{{ "n/a" if t.median_seconds is none else "%.1f s" | format(t.median_seconds) }}</td>
</tr>
{% endfor %}
<tr><th>class</th><th class="n">{{ r.class_rates.answered }}</th>
<th class="n">{{ r.class_rates.accuracy | pct }}</th>
<th class="n">{{ r.class_rates.false_alarm_rate | pct }}</th>
<th class="n">{{ r.class_rates.postponed_genuine }}</th>
<th class="n">{{ r.class_rates.miss_rate | pct }}</th><th></th><th></th><th></th></tr>
<tr><th>service (each traveller once)</th><th class="n">{{ r.service_rates.answered }}</th>
<th class="n">{{ r.service_rates.accuracy | pct }}</th>
<th class="n">{{ r.service_rates.false_alarm_rate | pct }}</th>
<th class="n">{{ r.service_rates.postponed_genuine }}</th>
<th class="n">{{ r.service_rates.miss_rate | pct }}</th><th></th><th></th><th></th></tr>
</table>

<h2>Profiles most often misjudged</h2>
<table>
<tr><th>profile or case</th><th>truth</th><th>decisions</th><th>wrong</th>
<th>genuine postponed</th><th>recruits let through</th><th>what settles it</th></tr>
{% for p in r.profiles %}
<tr><td><strong>{{ p.case }}</strong><br>{{ p.guidance.description }}</td>
<td>{{ "at risk" if p.at_risk else "genuine" }}</td><td class="n">{{ p.decisions }}</td>
<td class="n {{ 'wrong' if p.wrong else 'right' }}">{{ p.wrong }}
({{ p.wrong_share | pct }})</td>
<td class="n">{{ p.genuine_postponed }}</td><td class="n">{{ p.recruits_let_through }}</td>
<td>{{ p.guidance.officer }}{% if p.guidance.why %}<br><small>Why: {{ p.guidance.why }}</small>
{%- endif %}</td></tr>
{% endfor %}
</table>

<h2>Each traveller across the class</h2>
<table>
<tr><th>passport</th><th>profile or case</th><th>truth</th><th>service</th>
{% for a in actions %}<th>{{ words[a] }}</th>{% endfor %}<th>right</th></tr>
{% for t in r.travellers %}
<tr><td><code>{{ t.passport }}</code></td>
<td>{{ t.case }}{% if t.step %} ({{ t.step }}){% endif %}</td>
<td>{{ "at risk" if t.at_risk else "genuine" }}</td>
<td>{{ words[t.service_action] }}, {{ t.service_band | band }} {{ t.service_score }}
{%- for code, w in t.indicators %}<br><code>{{ code }}</code> ({{ "%+d" | format(w) }})
{%- endfor %}</td>
{% for a, n in t.actions %}<td class="n">{{ n }}</td>{% endfor %}
<td class="n {{ 'wrong' if t.wrong else 'right' }}">{{ t.right }} of {{ t.answered }}</td></tr>
{% endfor %}
</table>

<h2>Plots</h2>
<figure><img src="{{ rates_png }}" alt="each trainee's rates beside the class"></figure>
<figure><img src="{{ profiles_png }}" alt="profiles most often misjudged"></figure>
<figure><img src="{{ travellers_png }}" alt="what the class chose for each traveller"></figure>
</body>
</html>
"""
