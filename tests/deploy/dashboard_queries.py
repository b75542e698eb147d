"""Read the PromQL queries out of the Grafana dashboards under deploy/grafana/dashboards.

``dashboard_queries`` returns every panel query with the dashboard's template
variables substituted, ready to send to a Prometheus HTTP API:

- query variables (``$checkpoint``, ``$mode``) become ``.*``: the dashboards
  match them with ``=~"$checkpoint"``, so ``.*`` selects every value, as
  "All" does in Grafana;
- ``$__rate_interval``, ``$__interval`` and ``$__range`` become ``1m``, ``1m``
  and ``1h``;
- ``$datasource`` (and any variable this module does not know) is left as is.

``selectors`` and ``metric_names`` are a small PromQL scanner, good enough for
the dashboards' and alert rules' queries (not a full parser).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DASHBOARDS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"

BUILTIN_VALUES = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__range": "1h",
}

# Grafana variable references: $name, ${name}, ${name:format}, [[name]].
_VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)\]\]")


def load_dashboards(path_or_dir: str | Path = DASHBOARDS_DIR) -> list[tuple[Path, dict[str, Any]]]:
    """Each dashboard JSON file at ``path_or_dir`` (a file, or a directory of *.json)."""
    path = Path(path_or_dir)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    return [(file, json.loads(file.read_text(encoding="utf-8"))) for file in files]


def iter_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel of a dashboard, including the panels nested in rows."""

    def walk(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in panels:
            yield panel
            yield from walk(panel.get("panels", []))

    yield from walk(dashboard.get("panels", []))


def substitute(expr: str, dashboard: dict[str, Any]) -> str:
    """``expr`` with the dashboard's template variables replaced (see the module doc)."""
    values = dict(BUILTIN_VALUES)
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") in ("query", "custom"):
            values[variable["name"]] = ".*"

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        return values.get(name, match.group(0))

    return _VARIABLE.sub(replace, expr)


def dashboard_queries(path_or_dir: str | Path = DASHBOARDS_DIR) -> list[tuple[str, str, str]]:
    """``(dashboard title, panel title, expr)`` for every panel query, variables substituted."""
    queries = []
    for _file, dashboard in load_dashboards(path_or_dir):
        for panel in iter_panels(dashboard):
            for target in panel.get("targets", []):
                expr = target.get("expr")
                if expr:
                    queries.append(
                        (dashboard["title"], panel["title"], substitute(expr, dashboard))
                    )
    return queries


# --------------------------------------------------------------------------- PromQL scanning

_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<comment>\#[^\n]*)
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
    | (?P<braces>\{(?:[^{}"']|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')*\})
    | (?P<brackets>\[[^\]]*\])
    | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\w*)
    | (?P<ident>[A-Za-z_:][\w:]*)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_MATCHER = re.compile(
    r"""([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)"""
)
_GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan", "start", "end"}

Matcher = tuple[str, str, str]


def _tokens(expr: str) -> list[tuple[str, str]]:
    return [
        (match.lastgroup or "other", match.group())
        for match in _TOKEN.finditer(expr)
        if match.lastgroup not in ("space", "comment")
    ]


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return body if literal[0] == "`" else re.sub(r"\\(.)", r"\1", body)


def selectors(expr: str) -> list[tuple[str | None, list[Matcher]]]:
    """Each vector selector in ``expr``: (metric name or None, [(label, op, value)])."""
    tokens = _tokens(expr)
    found: list[tuple[str | None, list[Matcher]]] = []
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else ("", "")
        if kind == "ident" and text in _GROUPING:
            # Skip the label list: by (a, b), on (c), group_left (d) ...
            if following[1] == "(":
                i += 2
                while i < len(tokens) and tokens[i][1] != ")":
                    i += 1
            i += 1
            continue
        if kind == "ident" and (
            following[1] == "(" or following[1] in ("by", "without") or text.lower() in _KEYWORDS
        ):
            i += 1  # a function, an aggregation (sum by (...) (...)) or a keyword
            continue
        if kind == "ident":
            matchers: list[Matcher] = []
            if following[0] == "braces":
                matchers = _matchers(following[1])
                i += 1
            found.append((text, matchers))
        elif kind == "braces":
            found.append((None, _matchers(text)))
        i += 1
    return found


def _matchers(braces: str) -> list[Matcher]:
    return [(label, op, _unquote(value)) for label, op, value in _MATCHER.findall(braces)]


def metric_names(expr: str) -> set[str]:
    """The metric names ``expr`` selects (selectors without a name are left out)."""
    return {name for name, _ in selectors(expr) if name is not None}
