"""The composition root: config → ruleset, store, metrics, screener, servicer."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from departure_screening.api.limits import StreamLimits
from departure_screening.api.servicer import ScreeningServicer
from departure_screening.errors import StoreUnavailable
from departure_screening.metrics import Metrics, MetricsObserver, create_metrics
from departure_screening.pipeline.screener import Screener
from departure_screening.privacy.pseudonym import Pseudonymizer
from departure_screening.screening.alerts import AlertHub
from departure_screening.screening.ruleset import Ruleset, load_ruleset
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

    def store_ok(self) -> bool:
        try:
            self.store.check()
        except StoreUnavailable:
            return False
        return True

    def close(self) -> None:
        self.store.close()


def build_app(config: ServeConfig, registry: CollectorRegistry | None = None) -> App:
    ruleset = load_ruleset(config.rules)  # refuses an invalid ruleset before anything runs
    metrics = create_metrics(registry)
    metrics.set_ruleset_version(ruleset.version)
    metrics.initialise(config.checkpoints, (i.code for i in ruleset.indicators))
    # The key first: a store opened for nothing would leave its pool and listener behind.
    pseudonymizer = Pseudonymizer(load_key(config.store, config.key_file))
    store = _open_or_wait(config.store)
    try:
        screener = Screener(ruleset, store, pseudonymizer, MetricsObserver(metrics))
        limits = StreamLimits(config.max_watchers, config.max_manifest_streams)
        servicer = ScreeningServicer(screener, config.checkpoints, metrics, limits)
    except BaseException:
        store.close()
        raise
    return App(config, ruleset, store, metrics, screener, servicer)


def _open_or_wait(url: str) -> Store:
    """The store; a PostgreSQL store that cannot be reached yet is opened when it can.

    A shared database may come up after its replicas, which then serve with health
    NOT_SERVING until it does. A SQLite file that cannot be opened is a setting to
    correct (a path, a permission), and fails the start.
    """
    if parse_store_url(url).kind != POSTGRESQL:
        return open_store(url)
    alerts = AlertHub()
    try:
        return open_store(url, alerts)
    except StoreUnavailable:
        log.warning("store unreachable at start: NOT_SERVING until it is reachable")
        return LateStore(lambda hub: open_store(url, hub), alerts)
