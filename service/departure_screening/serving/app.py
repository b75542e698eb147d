"""The composition root: config → ruleset, store, metrics, screener, servicer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry

from departure_screening.access.control import AccessControl, build_access
from departure_screening.api.limits import StreamLimits
from departure_screening.api.servicer import ScreeningServicer
from departure_screening.errors import StoreUnavailable
from departure_screening.metrics import (
    Metrics,
    MetricsObserver,
    ShadowMetricsObserver,
    create_metrics,
)
from departure_screening.pipeline.observers import AllObservers
from departure_screening.pipeline.screener import Screener, ScreeningObserver
from departure_screening.pipeline.shadow import ShadowEvaluator
from departure_screening.privacy.pseudonym import Pseudonymizer
from departure_screening.screening.alerts import AlertHub
from departure_screening.screening.bundle import NO_SIGNATURES, Trust, load_public_keys, load_rules
from departure_screening.screening.ruleset import Ruleset
from departure_screening.serving.config import ServeConfig
from departure_screening.serving.keys import load_key
from departure_screening.serving.late_store import LateStore
from departure_screening.store.base import Store
from departure_screening.store.factory import POSTGRESQL, open_store, parse_store_url

log = logging.getLogger(__name__)


@dataclass
class App:
    config: ServeConfig
    ruleset: Ruleset
    store: Store
    metrics: Metrics
    screener: Screener
    servicer: ScreeningServicer
    access: AccessControl
    shadow: ShadowEvaluator | None = None

    def store_ok(self) -> bool:
        """The store can be read, and screenings can be committed to it."""
        try:
            self.store.check()
        except StoreUnavailable:
            return False
        return self.screener.commits_ok()

    def close(self) -> None:
        if self.shadow is not None:
            self.shadow.close()
        self.store.close()
        self.screener.close()


def rules_trust(config: ServeConfig) -> Trust:
    if not config.rules_signatures:
        return NO_SIGNATURES
    return Trust(load_public_keys(Path(config.rules_keys)), config.rules_signatures)


def build_app(config: ServeConfig, registry: CollectorRegistry | None = None) -> App:
    # Refuses an invalid or insufficiently signed ruleset before anything runs.
    ruleset = load_rules(config.rules, rules_trust(config))
    shadow_ruleset = (
        None
        if config.shadow_rules is None
        else load_rules(config.shadow_rules, rules_trust(config))
    )
    metrics = create_metrics(registry)
    metrics.set_ruleset_version(ruleset.version)
    metrics.initialise(config.checkpoints, (i.code for i in ruleset.indicators))
    # The key first: a store opened for nothing would leave its pool and listener behind.
    pseudonymizer = Pseudonymizer(load_key(config.store, config.key_file))
    store = _open_or_wait(config.store, AlertHub(config.watch_buffer))
    shadow = None
    try:
        observer: ScreeningObserver = MetricsObserver(metrics)
        if shadow_ruleset is not None:
            metrics.initialise_shadow(config.checkpoints)
            shadow = ShadowEvaluator(shadow_ruleset, store, ShadowMetricsObserver(metrics))
            # After the metrics: the real answer is counted before the shadow hears of it.
            observer = AllObservers(observer, shadow)
        screener = Screener(
            ruleset, store, pseudonymizer, observer, max_queued=config.max_commit_queue
        )
        metrics.commit_queue_limit.set(config.max_commit_queue)
        limits = StreamLimits(config.max_watchers, config.max_manifest_streams)
        servicer = ScreeningServicer(screener, config.checkpoints, metrics, limits)
        access = build_access(
            config.access,
            listen=config.listen,
            checkpoints=config.checkpoints,
            find_scope=lambda assessment_id: _scope(screener, assessment_id),
            metrics=metrics,
        )
    except BaseException:
        if shadow is not None:
            shadow.close()
        store.close()
        raise
    return App(config, ruleset, store, metrics, screener, servicer, access, shadow)


def _scope(screener: Screener, assessment_id: str) -> tuple[str, str]:
    """What access control needs to know of an assessment: its checkpoint and mode."""
    assessment, _ = screener.get_assessment(assessment_id)
    return assessment.checkpoint, assessment.mode


def _open_or_wait(url: str, alerts: AlertHub) -> Store:
    """The store; a PostgreSQL store that cannot be reached yet is opened when it can.

    A shared database may come up after its replicas, which then serve with health
    NOT_SERVING until it does. A SQLite file that cannot be opened is a setting to
    correct (a path, a permission), and fails the start.
    """
    if parse_store_url(url).kind != POSTGRESQL:
        return open_store(url, alerts)
    try:
        return open_store(url, alerts)
    except StoreUnavailable:
        log.warning("store unreachable at start: NOT_SERVING until it is reachable")
        return LateStore(lambda hub: open_store(url, hub), alerts)
