"""Writes the debrief: ``report.json``, ``report.html`` and the PNG plots beside it.

For a fixed seed every file is byte-identical from run to run except the latency
figures, which live under their own key (``latency_ms``) in the JSON and in their
own ``<section id="latency">`` in the HTML. No plot shows latency, and PNGs carry no
software or date metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import jinja2
from matplotlib.figure import Figure

from departure_screening.exercise.debrief import Debrief

JSON_NAME = "report.json"
HTML_NAME = "report.html"
CONFUSION_PNG = "confusion.png"
SCORES_PNG = "scores.png"
INDICATORS_PNG = "indicators.png"
_DPI = 100
_PNG_METADATA: dict[str, str | None] = {"Software": None}
_AT_RISK_COLOUR = "#c0392b"
_GENUINE_COLOUR = "#2e86c1"


@dataclass(frozen=True)
class ReportFiles:
    json: Path
    html: Path
    plots: tuple[Path, ...]


def write_report(debrief: Debrief, out_dir: Path) -> ReportFiles:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / JSON_NAME
    json_path.write_text(render_json(debrief), encoding="utf-8")
    plots = (
        _plot_confusion(debrief, out_dir / CONFUSION_PNG),
        _plot_scores(debrief, out_dir / SCORES_PNG),
        _plot_indicators(debrief, out_dir / INDICATORS_PNG),
    )
    html_path = out_dir / HTML_NAME
    html_path.write_text(render_html(debrief), encoding="utf-8")
    return ReportFiles(json=json_path, html=html_path, plots=plots)


def render_json(debrief: Debrief) -> str:
    return json.dumps(debrief.to_json(), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def render_html(debrief: Debrief) -> str:
    env = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    env.filters["pct"] = _pct
    return env.from_string(_TEMPLATE).render(
        d=debrief,
        confusion_png=CONFUSION_PNG,
        scores_png=SCORES_PNG,
        indicators_png=INDICATORS_PNG,
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f} %"


# --------------------------------------------------------------------------- plots


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=_DPI, format="png", metadata=_PNG_METADATA)
    return path


def _plot_confusion(debrief: Debrief, path: Path) -> Path:
    c = debrief.confusion
    cells = [[c.tp, c.fn], [c.fp, c.tn]]
    fig = Figure(figsize=(4.8, 4.0))
    ax = fig.add_subplot()
    ax.imshow(cells, cmap="Blues")
    ax.set_xticks([0, 1], labels=["flagged\n(ELEVATED/HIGH)", "not flagged\n(LOW)"])
    ax.set_yticks([0, 1], labels=["at risk", "genuine"])
    ax.set_xlabel("service")
    ax.set_ylabel("ground truth")
    labels = [["TP", "FN"], ["FP", "TN"]]
    peak = max(max(row) for row in cells) or 1
    for y in range(2):
        for x in range(2):
            colour = "white" if cells[y][x] > peak / 2 else "black"
            ax.text(x, y, f"{labels[y][x]}\n{cells[y][x]}", ha="center", va="center", color=colour)
    ax.set_title("Confusion matrix")
    fig.tight_layout()
    return _save(fig, path)


def _plot_scores(debrief: Debrief, path: Path) -> Path:
    at_risk = [score for score, risk in debrief.scores if risk]
    genuine = [score for score, risk in debrief.scores if not risk]
    bins = list(range(0, 105, 5))
    fig = Figure(figsize=(6.4, 3.8))
    ax = fig.add_subplot()
    ax.hist(
        [genuine, at_risk],
        bins=bins,
        stacked=True,
        color=[_GENUINE_COLOUR, _AT_RISK_COLOUR],
        label=[f"genuine ({len(genuine)})", f"at risk ({len(at_risk)})"],
    )
    ax.set_xlim(0, 100)
    ax.set_xlabel("score")
    ax.set_ylabel("travellers")
    ax.set_title("Score distribution by ground truth")
    ax.legend()
    fig.tight_layout()
    return _save(fig, path)


def _plot_indicators(debrief: Debrief, path: Path) -> Path:
    hits = sorted(debrief.indicator_hits, key=lambda kv: (kv[1], kv[0]))
    fig = Figure(figsize=(6.4, 0.4 * max(len(hits), 3) + 1.2))
    ax = fig.add_subplot()
    if hits:
        colours = [
            _GENUINE_COLOUR if code in debrief.mitigating else _AT_RISK_COLOUR for code, _ in hits
        ]
        ax.barh([code for code, _ in hits], [n for _, n in hits], color=colours)
    else:
        ax.text(0.5, 0.5, "no indicator fired", ha="center", va="center")
    ax.set_xlabel("travellers")
    ax.set_title("Indicator hits (blue: mitigating)")
    fig.tight_layout()
    return _save(fig, path)


# --------------------------------------------------------------------------- HTML

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Exercise debrief: {{ d.scenario }} (seed {{ d.seed }})</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.n { text-align: right; }
.caught { color: #1e8449; } .missed { color: #c0392b; } .partly_caught { color: #b9770e; }
.not_evaluable { color: #7f8c8d; }
figure { display: inline-block; margin: 0 1em 1em 0; }
code { font-size: 0.95em; }
</style>
</head>
<body>
<h1>Exercise debrief: {{ d.scenario }}</h1>
<p>{{ d.description }}</p>
<p>Seed {{ d.seed }} · ruleset {{ d.ruleset_version or "unknown" }} · training mode.
A traveller counts as flagged when the service puts them in band ELEVATED or HIGH.</p>

<h2>Summary</h2>
<table>
<tr><th>travellers screened</th><td class="n">{{ d.travellers }}</td></tr>
<tr><th>evaluated (in the confusion matrix)</th><td class="n">{{ d.evaluated }}</td></tr>
<tr><th>planted at-risk travellers</th><td class="n">{{ d.planted_at_risk }}</td></tr>
<tr><th>caught (TP) / missed (FN)</th>
<td class="n">{{ d.confusion.tp }} / {{ d.confusion.fn }}</td></tr>
<tr><th>false alarms (FP) / cleared genuine (TN)</th>
<td class="n">{{ d.confusion.fp }} / {{ d.confusion.tn }}</td></tr>
<tr><th>recall</th><td class="n">{{ d.confusion.recall | pct }}</td></tr>
<tr><th>precision</th><td class="n">{{ d.confusion.precision | pct }}</td></tr>
<tr><th>false-alarm rate (genuine flagged)</th>
<td class="n">{{ d.confusion.false_alarm_rate | pct }}
{%- if d.intended %} (intended {{ d.intended.false_alarm }}){% endif %}</td></tr>
<tr><th>miss rate (at risk left LOW)</th>
<td class="n">{{ d.confusion.miss_rate | pct }}
{%- if d.intended %} (intended {{ d.intended.miss }}){% endif %}</td></tr>
<tr><th>planted groups detected</th>
<td class="n">{{ d.groups_detected }} of {{ d.groups_planted }}</td></tr>
<tr><th>rejected by the service</th><td class="n">{{ d.rejected | length }}</td></tr>
</table>

<h2>Planted cases</h2>
<table>
<tr><th>case</th><th>kind</th><th>travellers</th><th>caught</th><th>missed</th>
<th>outcome</th><th>expected indicators (travellers it fired for)</th></tr>
{% for c in d.planted_cases %}
<tr><td><strong>{{ c.case }}</strong><br>{{ c.description }}</td><td>{{ c.kind }}</td>
<td class="n">{{ c.travellers }}</td><td class="n">{{ c.caught }}</td>
<td class="n">{{ c.missed }}</td>
<td class="{{ c.outcome }}">{{ c.outcome | replace("_", " ") }}
{%- if c.reason %}<br><small>{{ c.reason }}</small>{% endif %}</td>
<td>{% for code, n in c.expected_indicators %}<code>{{ code }}</code>: {{ n }}<br>{% endfor %}</td>
</tr>
{% endfor %}
</table>

<h2>Planted groups</h2>
{% if d.groups %}
<table>
<tr><th>group</th><th>members</th><th>members with GROUP_WITH_RECRUITER</th><th>detected</th></tr>
{% for g in d.groups %}
<tr><td>{{ g.group }}</td><td class="n">{{ g.members }}</td>
<td class="n">{{ g.members_with_indicator }}</td>
<td class="{{ 'caught' if g.detected else 'missed' }}">{{ "yes" if g.detected else "no" }}</td></tr>
{% endfor %}
</table>
{% else %}
<p>No group was planted in this scenario.</p>
{% endif %}

<h2>Missed at-risk travellers</h2>
{% if d.missed %}
<p>Each of these was planted as at risk and got band LOW. The reason is what the service saw.</p>
<table>
<tr><th>#</th><th>passport</th><th>case</th><th>score</th><th>band</th>
<th>fired indicators</th></tr>
{% for t in d.missed %}
<tr><td class="n">{{ t.index }}</td><td><code>{{ t.passport }}</code></td>
<td>{{ t.case }}{% if t.step %} ({{ t.step }}){% endif %}</td>
<td class="n">{{ t.score }}</td><td>{{ t.band_label }}</td>
<td>{% for code, w in t.indicators %}<code>{{ code }}</code> ({{ "%+d" | format(w) }})<br>
{%- else %}none{% endfor %}</td></tr>
{% endfor %}
</table>
{% else %}
<p>None: every evaluated at-risk traveller was flagged.</p>
{% endif %}

<h2>False alarms</h2>
{% if d.false_alarms %}
<table>
<tr><th>#</th><th>passport</th><th>profile</th><th>score</th><th>band</th>
<th>fired indicators</th></tr>
{% for t in d.false_alarms %}
<tr><td class="n">{{ t.index }}</td><td><code>{{ t.passport }}</code></td><td>{{ t.case }}</td>
<td class="n">{{ t.score }}</td><td>{{ t.band_label }}</td>
<td>{% for code, w in t.indicators %}<code>{{ code }}</code> ({{ "%+d" | format(w) }})<br>
{%- endfor %}</td></tr>
{% endfor %}
</table>
{% else %}
<p>None: every genuine traveller got band LOW.</p>
{% endif %}

{% if d.rejected %}
<h2>Screenings the service rejected</h2>
<table>
<tr><th>#</th><th>request id</th><th>error</th></tr>
{% for index, request_id, error in d.rejected %}
<tr><td class="n">{{ index }}</td><td><code>{{ request_id }}</code></td><td>{{ error }}</td></tr>
{% endfor %}
</table>
{% endif %}

<h2>Plots</h2>
<figure><img src="{{ confusion_png }}" alt="confusion matrix"></figure>
<figure><img src="{{ scores_png }}" alt="score distribution by ground truth"></figure>
<figure><img src="{{ indicators_png }}" alt="indicator hits"></figure>

<h2>Indicator hits</h2>
<table>
<tr><th>indicator</th><th>travellers</th></tr>
{% for code, n in d.indicator_hits %}
<tr><td><code>{{ code }}</code></td><td class="n">{{ n }}</td></tr>
{% endfor %}
</table>

<h2>Bands</h2>
<table>
<tr><th>band</th><th>travellers</th></tr>
{% for band, n in d.bands %}<tr><td>{{ band }}</td><td class="n">{{ n }}</td></tr>{% endfor %}
</table>

<section id="latency">
<h2>Latency</h2>
<p>Time the service took per screening on the stream, from when it was sent (or when the
previous answer arrived, if later), in milliseconds ({{ d.latency.samples }} samples):
p50 {{ "%.2f" | format(d.latency.p50) }}, p95 {{ "%.2f" | format(d.latency.p95) }},
p99 {{ "%.2f" | format(d.latency.p99) }}, max {{ "%.2f" | format(d.latency.max) }}.</p>
</section>
</body>
</html>
"""
