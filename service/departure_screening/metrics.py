"""Every Prometheus metric of the service, on a registry the caller passes in.

Label values are bounded: checkpoints come from the configured list, modes and
bands from enums, indicator codes from the loaded ruleset. No label ever holds a
passport number, booking reference or request id.

With ``depscreen serve --processes N`` every worker writes its values to files in
``$PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode) and the
supervisor serves their aggregate (``supervisor_registry``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from departure_screening.domain import (
    Assessment,
    DecisionRecord,
    GroupAlert,
    versus_recommendation,
)
from departure_screening.pipeline.shadow import STAGES as SHADOW_STAGES
from departure_screening.screening.shadow import ShadowResult

# Counter-side latency matters most: buckets from 0.5 ms to 1 s.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)

# The files a server re-reads while serving (``depscreen_config_reloads_total{file}``).
RELOADED_FILES = ("tls", "client_ca", "jwks", "access_policy", "rules", "shadow_rules")
MODE_LABELS = {"MODE_LIVE": "live", "MODE_TRAINING": "training"}
BAND_LABELS = {"RISK_BAND_LOW": "low", "RISK_BAND_ELEVATED": "elevated", "RISK_BAND_HIGH": "high"}
DECISION_LABELS = {
    "DECISION_CLEARED": "cleared",
    "DECISION_CLEARED_AFTER_INTERVIEW": "cleared_after_interview",
    "DECISION_POSTPONED": "postponed",
    "DECISION_REFERRED": "referred",
}
METHODS = ("Screen", "ScreenManifest")
# prometheus_client switches to multiprocess mode when this is set at start-up.
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def in_multiprocess_mode() -> bool:
    """True in a worker of a multi-process server, whose values go to shared files."""
    return bool(os.environ.get(MULTIPROC_DIR_ENV))


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    screenings: Counter
    preliminary_screenings: Counter
    indicator_hits: Counter
    decisions: Counter
    group_alerts: Counter
    screening_duration: Histogram
    call_wait: Histogram
    rpc_requests: Counter
    ruleset_info: Gauge
    access_denied: Counter
    config_reloads: Counter
    commit_queue_depth: Gauge
    commit_queue_limit: Gauge
    shadow_screenings: Counter
    shadow_failures: Counter
    # The versions this process has reported (multiprocess mode): one, after any reload.
    _versions: list[str] = field(default_factory=list)

    def initialise(self, checkpoints: Iterable[str], indicator_codes: Iterable[str]) -> None:
        """Create every bounded series at zero, so rate() sees the first screening too."""
        codes = list(indicator_codes)
        for checkpoint in checkpoints:
            for mode in MODE_LABELS.values():
                self.group_alerts.labels(checkpoint, mode)
                for band in BAND_LABELS.values():
                    self.screenings.labels(checkpoint, mode, band)
                    self.preliminary_screenings.labels(checkpoint, mode, band)
                for code in codes:
                    self.indicator_hits.labels(checkpoint, mode, code)
                for decision in DECISION_LABELS.values():
                    for versus in ("same", "more_lenient", "stricter"):
                        self.decisions.labels(checkpoint, mode, decision, versus)
        for method in METHODS:
            self.screening_duration.labels(method)
        for stage in SHADOW_STAGES:
            self.shadow_failures.labels(stage)
        for watched in RELOADED_FILES:
            for result in ("applied", "refused"):
                self.config_reloads.labels(watched, result)

    def initialise_shadow(self, checkpoints: Iterable[str]) -> None:
        """Every shadow series at zero, so disagreement shows from the first screening."""
        for checkpoint in checkpoints:
            for mode in MODE_LABELS.values():
                for band in BAND_LABELS.values():
                    for shadow_band in BAND_LABELS.values():
                        self.shadow_screenings.labels(checkpoint, mode, band, shadow_band)

    def set_ruleset_version(self, version: str) -> None:
        """Exactly one version is reported at a time: a reload replaces the old one."""
        if in_multiprocess_mode():
            # The shared files cannot forget a series: a worker's old versions go to 0,
            # which the supervisor leaves out (``supervisor_registry``).
            for old in self._versions:
                if old != version:
                    self.ruleset_info.labels(version=old).set(0)
            self._versions[:] = [version]
        else:
            self.ruleset_info.clear()
        self.ruleset_info.labels(version=version).set(1)


def create_metrics(
    registry: CollectorRegistry | None = None, *, process_metrics: bool = True
) -> Metrics:
    """Register every metric on ``registry`` (a fresh one when omitted).

    In multiprocess mode the process collectors are left out: they describe only the
    process that serves /metrics and do not aggregate over workers.
    """
    registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
    if process_metrics and not in_multiprocess_mode():
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
    return Metrics(
        registry=registry,
        screenings=Counter(
            "depscreen_screenings",
            "Screenings assessed, by checkpoint, mode and risk band.",
            ["checkpoint", "mode", "band"],
            registry=registry,
        ),
        preliminary_screenings=Counter(
            "depscreen_preliminary_screenings",
            "Preliminary screenings (airline passenger data, before the counter) assessed,"
            " by checkpoint, mode and risk band; never counted in depscreen_screenings_total.",
            ["checkpoint", "mode", "band"],
            registry=registry,
        ),
        indicator_hits=Counter(
            "depscreen_indicator_hits",
            "Indicators that fired, by checkpoint, mode and indicator code.",
            ["checkpoint", "mode", "indicator"],
            registry=registry,
        ),
        decisions=Counter(
            "depscreen_decisions",
            "Officers' decisions, and how they compare with the recommendation.",
            ["checkpoint", "mode", "decision", "versus_recommendation"],
            registry=registry,
        ),
        group_alerts=Counter(
            "depscreen_group_alerts",
            "Alerts raised when a group reached the threshold after its first members.",
            ["checkpoint", "mode"],
            registry=registry,
        ),
        screening_duration=Histogram(
            "depscreen_screening_duration_seconds",
            "Time to assess one screening, from validation to the durable commit.",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        call_wait=Histogram(
            "depscreen_call_wait_seconds",
            "Time a short call (Screen, RecordDecision, GetAssessment, ListIndicators)"
            " waited for a server thread after it arrived.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        rpc_requests=Counter(
            "depscreen_rpc_requests",
            "gRPC requests handled, by method and status code name.",
            ["method", "code"],
            registry=registry,
        ),
        ruleset_info=Gauge(
            "depscreen_ruleset_info",
            "The active ruleset version (always 1).",
            ["version"],
            registry=registry,
            # Across workers: 1 while any live worker runs that version; the series of a
            # worker that has exited disappears (the supervisor marks it dead).
            multiprocess_mode="livemax",
        ),
        access_denied=Counter(
            "depscreen_access_denied",
            "Calls refused by access control, by method, caller role and reason.",
            ["method", "role", "reason"],
            registry=registry,
        ),
        config_reloads=Counter(
            "depscreen_config_reloads",
            "Re-reads of a changed file, by file and result (applied or refused).",
            ["file", "result"],
            registry=registry,
        ),
        # Summed over a server's processes, like the limit beside it: depth near the
        # limit means calls are about to be refused with RESOURCE_EXHAUSTED.
        commit_queue_depth=Gauge(
            "depscreen_commit_queue_depth",
            "Calls (a Screen, a manifest's chunk) in the commit queue: being screened or"
            " waiting for their commit.",
            registry=registry,
            multiprocess_mode="livesum",
        ),
        commit_queue_limit=Gauge(
            "depscreen_commit_queue_limit",
            "Calls the commit queue holds at once (--max-commit-queue); more are refused.",
            registry=registry,
            multiprocess_mode="livesum",
        ),
        shadow_screenings=Counter(
            "depscreen_shadow_screenings",
            "Screenings also evaluated on the shadow ruleset, by the band served and the"
            " shadow's band.",
            ["checkpoint", "mode", "band", "shadow_band"],
            registry=registry,
        ),
        shadow_failures=Counter(
            "depscreen_shadow_failures",
            "Screenings left without a shadow result, by stage (dropped, evaluation, store).",
            ["stage"],
            registry=registry,
        ),
    )


def supervisor_registry(multiproc_dir: str) -> CollectorRegistry:
    """What the supervisor serves: the workers' metrics summed, and its own process."""
    registry = CollectorRegistry()
    registry.register(
        _ServedVersionsOnly(MultiProcessCollector(None, path=multiproc_dir))  # type: ignore[no-untyped-call]
    )
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


class _ServedVersionsOnly(Collector):
    """The workers' metrics without the ruleset versions no live worker serves: a
    worker that reloaded reports its old version as 0 (its file keeps the series),
    and once every worker has the new one the supervisor shows that one alone."""

    def __init__(self, workers: MultiProcessCollector) -> None:
        self._workers = workers

    def collect(self) -> Iterable[Metric]:
        for family in self._workers.collect():  # type: ignore[no-untyped-call]
            if family.name == "depscreen_ruleset_info":
                family.samples = [s for s in family.samples if s.value != 0]
            yield family


class _Children(dict[tuple[str, ...], Counter]):
    """A counter's children by label values, each looked up once: label lookups cost
    more than the increments, and the label sets are bounded."""

    def __init__(self, counter: Counter) -> None:
        super().__init__()
        self._counter = counter

    def __missing__(self, key: tuple[str, ...]) -> Counter:
        child = self[key] = self._counter.labels(*key)
        return child


class MetricsObserver:
    """Counts what the screening pipeline committed (see ``screener.ScreeningObserver``)."""

    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics
        self._screenings = _Children(metrics.screenings)
        self._preliminary = _Children(metrics.preliminary_screenings)
        self._hits = _Children(metrics.indicator_hits)

    def assessed(self, assessment: Assessment) -> None:
        mode = MODE_LABELS[assessment.mode]
        if assessment.preliminary:
            # Its counter screening counts the traveller (and the indicators) once.
            band = BAND_LABELS[assessment.band]
            self._preliminary[assessment.checkpoint, mode, band].inc()
            return
        self._screenings[assessment.checkpoint, mode, BAND_LABELS[assessment.band]].inc()
        for fired in assessment.indicators:
            self._hits[assessment.checkpoint, mode, fired.code].inc()

    def decided(self, assessment: Assessment, decision: DecisionRecord) -> None:
        self._m.decisions.labels(
            assessment.checkpoint,
            MODE_LABELS[assessment.mode],
            DECISION_LABELS[decision.decision],
            versus_recommendation(decision.decision, assessment.recommended_action),
        ).inc()

    def alerted(self, alert: GroupAlert) -> None:
        self._m.group_alerts.labels(alert.checkpoint, MODE_LABELS[alert.mode]).inc()

    def queue_depth(self, change: int) -> None:
        self._m.commit_queue_depth.inc(change)


class ShadowMetricsObserver:
    """Counts shadow results (see ``pipeline.shadow.ShadowObserver``)."""

    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics
        self._shadowed = _Children(metrics.shadow_screenings)

    def shadowed(self, assessment: Assessment, result: ShadowResult) -> None:
        self._shadowed[
            assessment.checkpoint,
            MODE_LABELS[assessment.mode],
            BAND_LABELS[assessment.band],
            BAND_LABELS[result.band],
        ].inc()

    def shadow_failed(self, stage: str, count: int) -> None:
        self._m.shadow_failures.labels(stage).inc(count)
