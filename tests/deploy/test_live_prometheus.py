"""The deploy assets against a real Prometheus scraping a real ``depscreen serve``.

A server on a temporary SQLite store gets two bursts of traffic a few seconds
apart (live and training screenings at several checkpoints and bands, invalid
requests, a manifest, decisions, groups that reach the alert threshold), while
a Prometheus started for the test scrapes it every second and evaluates the
repository's alert rules. Then:

- every query of every Grafana dashboard runs through the HTTP API, as an
  instant and as a range query: all must succeed and at least 80 % must return
  data; every selector in them must match series that exist, so a misspelt
  metric, label or label value fails even where a panel may legitimately be
  empty;
- every alert and recording rule is loaded and evaluates without error;
- the counters in Prometheus match exactly what the test sent, with live and
  training apart.

The ``prometheus`` binary comes with the Debian package ``prometheus``; without
it these tests fail, they never skip.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from departure_screening.screening.ruleset import default_rules_dir
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc
from google.protobuf.message import Message
from support.builders import screening
from support.prometheus import (
    ALERT_RULES,
    PrometheusProcess,
    PrometheusQueryError,
    prometheus_binary,
)
from support.servers import ServerProcess

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboard_queries import DASHBOARDS_DIR, dashboard_queries, selectors

pytestmark = pytest.mark.timeout(120)

# Share of dashboard queries that must return data. The rest may be empty for a
# reason the test cannot produce, e.g. a server-side error ratio when there is
# no server-side error (the series with such codes do not exist yet).
MIN_SHARE_WITH_DATA = 0.8

GROUP_THRESHOLD = 3  # context.group_alert_members in rules/ruleset.yaml
GROUP_INDICATOR = "GROUP_WITH_RECRUITER"

HIGH = {
    "trip__destination_country": "KH",
    "trip__has_return_ticket": False,
    "observations": [pb.OBSERVATION_CARRIES_JOB_OFFER],
}
ELEVATED = {"trip__destination_country": "KH", "trip__has_return_ticket": False}
LOW: dict[str, object] = {}


def mode_label(mode: int) -> str:
    return pb.Mode.Name(mode).removeprefix("MODE_").lower()


def band_label(band: int) -> str:
    return pb.RiskBand.Name(band).removeprefix("RISK_BAND_").lower()


@dataclass
class Traffic:
    """What the test sent, as the service's counters should count it."""

    # assessment_id -> (mode, checkpoint, band): a retry returns the same id and counts once.
    assessments: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    decisions: Counter[tuple[str, str]] = field(default_factory=Counter)
    group_alerts: Counter[tuple[str, str]] = field(default_factory=Counter)
    rpcs: Counter[tuple[str, str]] = field(default_factory=Counter)
    started: float = field(default_factory=time.time)

    def screenings(self) -> Counter[tuple[str, ...]]:
        return Counter(self.assessments.values())

    def per_mode(self) -> Counter[str]:
        return Counter(mode for mode, _, _ in self.assessments.values())

    def assessed(self, a: pb.Assessment) -> None:
        if a.assessment_id in self.assessments:
            return
        self.assessments[a.assessment_id] = (
            mode_label(a.mode),
            a.checkpoint,
            band_label(a.band),
        )
        # The member that brings a group to the threshold raises its one alert.
        if a.group.members_screened == GROUP_THRESHOLD:
            assert GROUP_INDICATOR in {i.code for i in a.indicators}
            self.group_alerts[(mode_label(a.mode), a.checkpoint)] += 1


class Client:
    """Calls the service and books every call in ``traffic``."""

    def __init__(self, stub: pb_grpc.ScreeningServiceStub, traffic: Traffic) -> None:
        self.stub = stub
        self.traffic = traffic

    def screen(self, s: pb.Screening) -> pb.Assessment:
        a: pb.Assessment = self.stub.Screen(pb.ScreenRequest(screening=s), timeout=10).assessment
        self.traffic.rpcs[("Screen", "OK")] += 1
        self.traffic.assessed(a)
        return a

    def rejected(self, method: str, request: Message, code: grpc.StatusCode) -> None:
        """Call unary ``method`` with ``request``, which the service must reject with ``code``."""
        with pytest.raises(grpc.RpcError) as raised:
            getattr(self.stub, method)(request, timeout=10)
        assert raised.value.code() == code
        self.traffic.rpcs[(method, code.name)] += 1

    def manifest(self, items: list[pb.Screening]) -> list[pb.ScreenManifestResponse]:
        requests = iter([pb.ScreenManifestRequest(screening=s) for s in items])
        responses = list(self.stub.ScreenManifest(requests, timeout=20))
        self.traffic.rpcs[("ScreenManifest", "OK")] += 1
        for response in responses:
            if response.HasField("assessment"):
                self.traffic.assessed(response.assessment)
        return responses

    def decide(self, a: pb.Assessment, decision: pb.Decision) -> None:
        request = pb.RecordDecisionRequest(
            assessment_id=a.assessment_id, officer_id="o1", decision=decision
        )
        self.stub.RecordDecision(request, timeout=10)
        self.traffic.rpcs[("RecordDecision", "OK")] += 1
        self.traffic.decisions[(mode_label(a.mode), a.checkpoint)] += 1


def burst(client: Client, escort: str, flight: str, group_checkpoint: str) -> None:
    """One round of counter traffic: every family and label the dashboards look at."""
    live, training = pb.MODE_LIVE, pb.MODE_TRAINING
    screened: dict[str, list[pb.Assessment]] = {"low": [], "elevated": [], "high": []}
    plan = [
        ("CGK", live, LOW, 3),
        ("CGK", live, ELEVATED, 1),
        ("CGK", live, HIGH, 1),
        ("DPS", live, HIGH, 2),
        ("DPS", live, LOW, 1),
        ("SUB", live, LOW, 2),
        ("KNO", live, ELEVATED, 1),
        ("CGK", training, LOW, 2),
        ("DPS", training, HIGH, 2),
        ("YIA", training, ELEVATED, 1),
    ]
    for checkpoint, mode, changes, count in plan:
        for _ in range(count):
            a = client.screen(screening(checkpoint=checkpoint, mode=mode, **changes))
            if mode == live:
                screened[band_label(a.band)].append(a)
    assert all(screened.values()), "the plan must produce every band in live mode"

    # A retry (same request_id, same content) is answered again but counted once.
    original = screening(checkpoint="SUB")
    first = client.screen(original)
    assert client.screen(original).assessment_id == first.assessment_id

    # Client errors: bad input, a request_id reused with other content, an unknown assessment.
    for bad in (
        screening(trip__destination_country="CAMBODIA"),
        screening(checkpoint="NOWHERE"),
        screening(traveller__passport_number="lowercase!"),
    ):
        client.rejected("Screen", pb.ScreenRequest(screening=bad), grpc.StatusCode.INVALID_ARGUMENT)
    conflicting = pb.Screening()
    conflicting.CopyFrom(original)
    conflicting.trip.has_return_ticket = False
    client.rejected(
        "Screen", pb.ScreenRequest(screening=conflicting), grpc.StatusCode.ALREADY_EXISTS
    )
    unknown = pb.RecordDecisionRequest(
        assessment_id="no-such-assessment", officer_id="o1", decision=pb.DECISION_CLEARED
    )
    client.rejected("RecordDecision", unknown, grpc.StatusCode.NOT_FOUND)

    # A flight's manifest, with one bad item that gets its own error.
    items = [screening(checkpoint="BTH", trip__flight_number="JT150") for _ in range(4)]
    items.append(screening(checkpoint="BTH", **HIGH))
    items[2].trip.destination_country = "CAMBODIA"
    responses = client.manifest(items)
    assert [r.HasField("error") for r in responses] == [False, False, True, False, False]

    # A group of three with the same escort on the same flight, live and in training:
    # each mode reaches the threshold on its own.
    for mode in (live, training):
        members = [
            client.screen(
                screening(
                    checkpoint=group_checkpoint,
                    mode=mode,
                    trip__escort_passport_number=escort,
                    trip__flight_number=flight,
                )
            )
            for _ in range(GROUP_THRESHOLD)
        ]
        assert [m.group.members_screened for m in members] == [1, 2, 3]

    # Officers' decisions: the same as recommended, more lenient, stricter; and in training.
    client.decide(screened["low"][0], pb.DECISION_CLEARED)
    client.decide(screened["high"][0], pb.DECISION_CLEARED)
    client.decide(screened["high"][1], pb.DECISION_POSTPONED)
    client.decide(screened["elevated"][0], pb.DECISION_REFERRED)
    client.decide(screened["low"][1], pb.DECISION_CLEARED_AFTER_INTERVIEW)
    training_high = client.screen(screening(checkpoint="DPS", mode=training, **HIGH))
    client.decide(training_high, pb.DECISION_CLEARED)


# --------------------------------------------------------------------------- what Prometheus has


def screenings_in_prometheus(prometheus: PrometheusProcess) -> Counter[tuple[str, ...]]:
    found = prometheus.values_by(
        "sum by (mode, checkpoint, band) (depscreen_screenings_total) > 0",
        "mode",
        "checkpoint",
        "band",
    )
    return Counter({key: int(value) for key, value in found.items()})


def counted_in_prometheus(
    prometheus: PrometheusProcess, expr: str, *labels: str
) -> Counter[tuple[str, ...]]:
    found = prometheus.values_by(f"sum by ({', '.join(labels)}) ({expr}) > 0", *labels)
    return Counter({key: int(value) for key, value in found.items()})


def rpcs_in_prometheus(prometheus: PrometheusProcess) -> Counter[tuple[str, ...]]:
    return counted_in_prometheus(prometheus, "depscreen_rpc_requests_total", "method", "code")


def scraped_everything(prometheus: PrometheusProcess, traffic: Traffic) -> bool:
    """Prometheus holds a scrape taken after the last call of the traffic."""
    return (
        screenings_in_prometheus(prometheus) == traffic.screenings()
        and counted_in_prometheus(prometheus, "depscreen_decisions_total", "mode", "checkpoint")
        == traffic.decisions
        and counted_in_prometheus(prometheus, "depscreen_group_alerts_total", "mode", "checkpoint")
        == traffic.group_alerts
        and rpcs_in_prometheus(prometheus) == traffic.rpcs
    )


def wait_scraped(prometheus: PrometheusProcess, traffic: Traffic, timeout: float = 15.0) -> None:
    """Wait for the traffic to show in Prometheus; the tests report any mismatch left."""
    deadline = time.monotonic() + timeout
    while not scraped_everything(prometheus, traffic) and time.monotonic() < deadline:
        time.sleep(0.25)


@dataclass
class Live:
    server: ServerProcess
    prometheus: PrometheusProcess
    traffic: Traffic


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    prometheus_binary()  # fail before starting the server when it is missing
    db = tmp_path_factory.mktemp("live-prometheus") / "depscreen.db"
    with (
        # A shadow ruleset (the served one) so the rules-lifecycle panels have data.
        ServerProcess(
            store=f"sqlite:///{db}", extra_args=["--shadow-rules", str(default_rules_dir())]
        ) as server,
        PrometheusProcess(scrape_targets=[f"127.0.0.1:{server.metrics_port}"]) as prometheus,
        grpc.insecure_channel(server.target) as channel,
    ):
        prometheus.wait_for(
            lambda: prometheus.value('up{job="depscreen"}') == 1,
            what='up{job="depscreen"} == 1',
        )
        # The service creates its counters at zero: the baseline of rate() and increase().
        prometheus.wait_for(
            lambda: prometheus.query("depscreen_screenings_total"),
            what="depscreen_screenings_total scraped",
        )
        traffic = Traffic()
        client = Client(pb_grpc.ScreeningServiceStub(channel), traffic)
        burst(client, escort="E1234567", flight="QZ262", group_checkpoint="CGK")
        wait_scraped(prometheus, traffic)
        # Two more scrapes, so the second burst lands in a later sample than the first.
        scrapes = 'count_over_time(up{job="depscreen"}[10m])'
        seen = prometheus.value(scrapes) or 0
        prometheus.wait_for(
            lambda: (prometheus.value(scrapes) or 0) >= seen + 2, what="two more scrapes"
        )
        burst(client, escort="E7654321", flight="QZ263", group_checkpoint="DPS")
        wait_scraped(prometheus, traffic)
        yield Live(server, prometheus, traffic)


# --------------------------------------------------------------------------- tests


def test_prometheus_is_installed() -> None:
    """Fails (never skips) without the binary; the other tests then error in their setup."""
    result = subprocess.run(
        [prometheus_binary(), "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "prometheus, version" in result.stdout + result.stderr


def test_prometheus_scrapes_the_service(live: Live) -> None:
    (target,) = live.prometheus.targets()
    assert target["labels"]["job"] == "depscreen"
    assert target["health"] == "up", target["lastError"]
    assert target["scrapeUrl"] == f"http://127.0.0.1:{live.server.metrics_port}/metrics"
    assert live.prometheus.value('up{job="depscreen"}') == 1


def test_screening_counts_match_what_was_sent(live: Live) -> None:
    traffic = live.traffic
    per_mode = traffic.per_mode()
    assert per_mode["live"] > 0 and per_mode["training"] > 0
    assert live.prometheus.values_by("sum by (mode) (depscreen_screenings_total)", "mode") == {
        ("live",): per_mode["live"],
        ("training",): per_mode["training"],
    }
    # Training is never counted as live, per checkpoint and band too.
    assert screenings_in_prometheus(live.prometheus) == traffic.screenings()
    assert live.prometheus.value('sum(depscreen_screenings_total{mode="live"})') == per_mode["live"]


def test_decision_group_alert_and_rpc_counts_match_what_was_sent(live: Live) -> None:
    prometheus, traffic = live.prometheus, live.traffic
    decisions = counted_in_prometheus(prometheus, "depscreen_decisions_total", "mode", "checkpoint")
    assert decisions == traffic.decisions
    alerts = counted_in_prometheus(prometheus, "depscreen_group_alerts_total", "mode", "checkpoint")
    assert alerts == traffic.group_alerts
    assert alerts[("live", "CGK")] == alerts[("training", "CGK")] == 1
    assert rpcs_in_prometheus(prometheus) == traffic.rpcs
    # Each relation of a decision to the recommendation was recorded, in live mode.
    versus = counted_in_prometheus(
        prometheus, 'depscreen_decisions_total{mode="live"}', "versus_recommendation"
    )
    assert set(versus) == {("same",), ("more_lenient",), ("stricter",)}


def test_alert_rules_are_loaded_and_evaluate_without_error(live: Live) -> None:
    expected = {
        group["name"]: [rule.get("alert") or rule["record"] for rule in group["rules"]]
        for group in yaml.safe_load(ALERT_RULES.read_text(encoding="utf-8"))["groups"]
    }

    def evaluated() -> list[dict[str, Any]] | None:
        groups = live.prometheus.rules()
        every = [rule for group in groups for rule in group["rules"]]
        return groups if all(rule["health"] != "unknown" for rule in every) else None

    groups = live.prometheus.wait_for(evaluated, timeout=10, what="every rule evaluated")
    loaded = {group["name"]: [rule["name"] for rule in group["rules"]] for group in groups}
    assert loaded == expected
    unhealthy = [
        f"{group['name']}/{rule['name']}: {rule['health']} {rule.get('lastError', '')}"
        for group in live.prometheus.rules()
        for rule in group["rules"]
        if rule["health"] != "ok" or rule.get("lastError")
    ]
    assert unhealthy == []

    # Recording rules over the recent past have values; those looking a day or an hour
    # back (offset) have none in a test that lasts seconds.
    records = [
        rule["record"]
        for group in yaml.safe_load(ALERT_RULES.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
        if "record" in rule and "offset" not in rule["expr"]
    ]
    assert records
    assert [record for record in records if not live.prometheus.query(record)] == []


def test_every_dashboard_query_runs_and_most_return_data(live: Live) -> None:
    queries = dashboard_queries(DASHBOARDS_DIR)
    assert queries, "no dashboard queries found"
    prometheus = live.prometheus
    end = time.time()
    start = live.traffic.started - 5
    failed: list[str] = []
    empty: list[str] = []
    for dashboard, panel, expr in queries:
        where = f"{dashboard} / {panel}: {expr}"
        try:
            instant = prometheus.query(expr, at=end)
            prometheus.query_range(expr, start, end, step=1)
        except PrometheusQueryError as error:
            failed.append(f"{where}\n    -> {error.error_type}: {error.error}")
            continue
        if not instant:
            empty.append(where)
    assert failed == [], "queries Prometheus rejects:\n" + "\n".join(failed)
    with_data = len(queries) - len(empty)
    print(f"\n{with_data} of {len(queries)} dashboard queries returned data; empty:")
    for where in empty:
        print(f"  {where}")
    assert with_data >= MIN_SHARE_WITH_DATA * len(queries), (
        f"only {with_data} of {len(queries)} dashboard queries returned data; empty:\n"
        + "\n".join(empty)
    )


def test_every_dashboard_selector_matches_existing_series(live: Live) -> None:
    """A misspelt metric, label or label value in a selector matches nothing: fail on it.

    Only the selector's name and its exact (=) matchers are checked: regular
    expressions and negative matchers may legitimately match nothing yet.
    """
    missing: list[str] = []
    checked: set[str] = set()
    for dashboard, panel, expr in dashboard_queries(DASHBOARDS_DIR):
        for metric, matchers in selectors(expr):
            exact = [f'{label}="{value}"' for label, op, value in matchers if op == "="]
            if metric is not None:
                exact.insert(0, f'__name__="{metric}"')
            selector = "{" + ", ".join(exact) + "}"
            if selector in checked:
                continue
            checked.add(selector)
            if live.prometheus.value(f"count({selector})") is None:
                missing.append(f"{dashboard} / {panel}: {selector}")
    assert checked
    assert missing == [], "selectors matching no series:\n" + "\n".join(missing)
