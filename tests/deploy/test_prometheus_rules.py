"""Checks of the Prometheus and Grafana deploy assets under deploy/.

promtool comes with the Debian package ``prometheus``; without it these tests
fail rather than skip, so that CI cannot pass without checking the rules.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboard_queries import (
    dashboard_queries,
    iter_panels,
    load_dashboards,
    metric_names,
    selectors,
)

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
GRAFANA_DIR = ROOT / "deploy" / "grafana"
DASHBOARDS_DIR = GRAFANA_DIR / "dashboards"

# Every series the service exposes besides process_* and python_* (see
# service/departure_screening/metrics.py and the contract's Metrics section).
SERVICE_SERIES = {
    "depscreen_screenings_total",
    "depscreen_preliminary_screenings_total",
    "depscreen_indicator_hits_total",
    "depscreen_decisions_total",
    "depscreen_group_alerts_total",
    "depscreen_screening_duration_seconds_bucket",
    "depscreen_screening_duration_seconds_sum",
    "depscreen_screening_duration_seconds_count",
    "depscreen_rpc_requests_total",
    "depscreen_ruleset_info",
    "depscreen_access_denied_total",
    "depscreen_config_reloads_total",
    "depscreen_shadow_screenings_total",
    "depscreen_shadow_failures_total",
}
# Families labelled by checkpoint and mode: live and training must stay apart.
CHECKPOINT_MODE_SERIES = {
    "depscreen_screenings_total",
    "depscreen_preliminary_screenings_total",
    "depscreen_indicator_hits_total",
    "depscreen_decisions_total",
    "depscreen_group_alerts_total",
    "depscreen_shadow_screenings_total",
}
SEVERITIES = {"critical", "warning", "info"}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is not on PATH. Install it with the Debian package `prometheus` "
            "(apt-get install prometheus) to check the Prometheus config and rules."
        )
    result = subprocess.run(
        [path, *args], cwd=ROOT, capture_output=True, text=True, timeout=240, check=False
    )
    assert result.returncode == 0, (
        f"promtool {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
    return result


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    return groups


def alerting_rules() -> list[dict[str, Any]]:
    return [rule for group in rule_groups() for rule in group["rules"] if "alert" in rule]


def recorded_names() -> set[str]:
    return {
        rule["record"] for group in rule_groups() for rule in group["rules"] if "record" in rule
    }


def allowed_series(name: str) -> bool:
    return (
        name in SERVICE_SERIES
        or name == "up"
        or name.startswith(("process_", "python_"))
        or name in recorded_names()
    )


# --------------------------------------------------------------------------- promtool


def test_promtool_check_config() -> None:
    promtool("check", "config", str(PROMETHEUS_CONFIG.relative_to(ROOT)))


def test_promtool_check_rules() -> None:
    promtool("check", "rules", str(ALERTS.relative_to(ROOT)))


def test_promtool_test_rules() -> None:
    assert RULE_TESTS, "no rule unit tests under deploy/prometheus/tests"
    promtool("test", "rules", *(str(path.relative_to(ROOT)) for path in RULE_TESTS))


# --------------------------------------------------------------------------- rules


def test_scrape_config() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    assert config["rule_files"] == ["alerts.yml"]
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "depscreen"]
    assert job["scrape_interval"] == "15s"
    targets = [target for static in job["static_configs"] for target in static["targets"]]
    assert targets == ["127.0.0.1:9464"]


def test_every_alert_has_severity_summary_and_description() -> None:
    alerts = alerting_rules()
    assert alerts
    for rule in alerts:
        assert rule.get("labels", {}).get("severity") in SEVERITIES, rule["alert"]
        annotations = rule.get("annotations", {})
        assert annotations.get("summary", "").strip(), rule["alert"]
        assert annotations.get("description", "").strip(), rule["alert"]


def test_alert_names_are_unique() -> None:
    names = [rule["alert"] for rule in alerting_rules()]
    assert len(names) == len(set(names))


def test_rules_only_use_exposed_series() -> None:
    for group in rule_groups():
        for rule in group["rules"]:
            name = rule.get("alert") or rule["record"]
            for metric in metric_names(rule["expr"]):
                assert allowed_series(metric), f"{name}: unknown series {metric}"


def test_rules_about_screenings_and_decisions_select_live_only() -> None:
    """Training traffic never feeds an alert: every such selector says mode="live"."""
    for group in rule_groups():
        for rule in group["rules"]:
            name = rule.get("alert") or rule["record"]
            for metric, matchers in selectors(rule["expr"]):
                if metric in CHECKPOINT_MODE_SERIES:
                    assert ("mode", "=", "live") in matchers, f"{name}: {metric} without mode=live"


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        suite = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in suite["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alerting_rules()}
    assert names - firing == set(), "alerts without a test where they fire"
    assert names - quiet == set(), "alerts without a test where they stay quiet"
    assert (firing | quiet) - names == set(), "tests for alerts that do not exist"


# --------------------------------------------------------------------------- dashboards


def test_dashboards_are_present() -> None:
    names = {path.name for path, _ in load_dashboards(DASHBOARDS_DIR)}
    assert names == {"depscreen-operations.json", "depscreen-audit.json"}


@pytest.mark.parametrize("path", sorted(DASHBOARDS_DIR.glob("*.json")), ids=lambda path: path.name)
def test_dashboard_structure(path: Path) -> None:
    ((_, dashboard),) = load_dashboards(path)
    assert dashboard["title"] and dashboard["uid"]
    assert dashboard["schemaVersion"] >= 39

    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("checkpoint", "mode"):
        variable = variables[name]
        assert variable["type"] == "query", name
        assert variable["multi"] is True and variable["includeAll"] is True, name
        definition = f"label_values(depscreen_screenings_total, {name})"
        assert variable["definition"] == definition, name
        query = variable["query"]
        assert (query["query"] if isinstance(query, dict) else query) == definition, name

    panels = list(iter_panels(dashboard))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels:
        if panel["type"] == "row":
            continue
        title = panel.get("title", "")
        assert title, f"a panel without a title in {path.name}"
        assert panel.get("description", "").strip(), f"{path.name}: {title!r} has no description"
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, title
        assert panel.get("targets"), f"{path.name}: {title!r} has no query"
        for target in panel["targets"]:
            assert target.get("expr", "").strip(), f"{path.name}: {title!r} has an empty query"
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, title


@pytest.mark.parametrize("path", sorted(DASHBOARDS_DIR.glob("*.json")), ids=lambda path: path.name)
def test_dashboard_queries_use_exposed_series_and_variables(path: Path) -> None:
    ((_, dashboard),) = load_dashboards(path)
    uses = {"checkpoint": False, "mode": False}
    for panel in iter_panels(dashboard):
        for target in panel.get("targets", []):
            where = f"{path.name}: {panel['title']!r}: {target['expr']}"
            found = selectors(target["expr"])
            assert found, where
            for metric, matchers in found:
                assert metric is not None and allowed_series(metric), f"unknown series in {where}"
                if metric in CHECKPOINT_MODE_SERIES:
                    assert ("checkpoint", "=~", "$checkpoint") in matchers, where
                    assert ("mode", "=~", "$mode") in matchers, where
                    uses["checkpoint"] = uses["mode"] = True
    assert all(uses.values()), f"{path.name} never uses the checkpoint and mode variables"


def test_dashboard_queries_helper_substitutes_variables() -> None:
    queries = dashboard_queries(DASHBOARDS_DIR)
    titles = {dashboard for dashboard, _, _ in queries}
    assert titles == {title_of(path) for path in DASHBOARDS_DIR.glob("*.json")}
    for dashboard, panel, expr in queries:
        assert "$" not in expr and "[[" not in expr, f"{dashboard} / {panel}: {expr}"
    assert any('checkpoint=~".*"' in expr and 'mode=~".*"' in expr for _, _, expr in queries)
    assert any("[1m]" in expr for _, _, expr in queries)

    one = sorted(DASHBOARDS_DIR.glob("*.json"))[0]
    assert {d for d, _, _ in dashboard_queries(one)} == {title_of(one)}


def title_of(path: Path) -> str:
    ((_, dashboard),) = load_dashboards(path)
    title: str = dashboard["title"]
    return title


def test_selector_scanner() -> None:
    expr = (
        'sum by (checkpoint, mode) (increase(depscreen_screenings_total{checkpoint=~"$checkpoint",'
        ' band="high"}[1h] offset 1d))\n/ on (mode) group_left\n'
        "histogram_quantile(0.99, sum by (le) ("
        "rate(depscreen_screening_duration_seconds_bucket[5m])))"
        ' or up{job="depscreen"} == bool 0 and 1e3 > inf'
    )
    assert selectors(expr) == [
        (
            "depscreen_screenings_total",
            [("checkpoint", "=~", "$checkpoint"), ("band", "=", "high")],
        ),
        ("depscreen_screening_duration_seconds_bucket", []),
        ("up", [("job", "=", "depscreen")]),
    ]


# --------------------------------------------------------------------------- provisioning


def test_grafana_provisioning() -> None:
    provider = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "dashboards" / "depscreen.yml").read_text(encoding="utf-8")
    )
    assert provider["apiVersion"] == 1
    assert [p["type"] for p in provider["providers"]] == ["file"]
    assert provider["providers"][0]["options"]["path"]

    datasources = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml").read_text(
            encoding="utf-8"
        )
    )
    assert datasources["apiVersion"] == 1
    assert [d["type"] for d in datasources["datasources"]] == ["prometheus"]
