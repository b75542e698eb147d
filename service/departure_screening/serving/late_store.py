"""A shared store that was unreachable when the server started, opened once it is back.

A replica may start before its PostgreSQL (a whole site powering up, a database
restarting): it serves with health NOT_SERVING, every call that needs the store
gets UNAVAILABLE, and the health watcher's next check (``check``) opens the
store; from then on every call goes straight to it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from departure_screening.domain import Assessment, DecisionRecord, GroupAlert
from departure_screening.errors import StoreUnavailable
from departure_screening.screening.alerts import AlertHub
from departure_screening.screening.shadow import ShadowResult
from departure_screening.store.alert_feed import ALERT_PAGE
from departure_screening.store.base import (
    EncodedAssessment,
    ScreeningKeys,
    ScreeningTransaction,
    Store,
)

log = logging.getLogger(__name__)

NOT_YET = "the store is unavailable"


class LateStore:
    """A ``Store`` whose backend is opened by the first ``check`` that reaches it."""

    def __init__(self, open_store: Callable[[AlertHub], Store], alerts: AlertHub) -> None:
        self.alerts = alerts
        self._open = open_store
        self._store: Store | None = None
        self._closed = False
        self._lock = threading.Lock()

    def _opened(self) -> Store:
        store = self._store
        if store is None:
            raise StoreUnavailable(NOT_YET)
        return store

    def check(self) -> None:
        if self._store is None:
            with self._lock:
                if self._closed:
                    raise StoreUnavailable(NOT_YET)
                if self._store is None:
                    self._store = self._try_open()
                    log.warning("store reachable: opened")
        self._opened().check()

    def _try_open(self) -> Store:
        try:
            return self._open(self.alerts)
        except StoreUnavailable:
            raise
        except Exception as error:  # a schema too new, say: it will not come right by itself
            log.error("store cannot be opened: %s", type(error).__name__)
            raise StoreUnavailable(NOT_YET) from error

    def screening(self, keys: ScreeningKeys) -> AbstractContextManager[ScreeningTransaction]:
        return self._opened().screening(keys)

    def screenings(
        self, keys: Sequence[ScreeningKeys]
    ) -> AbstractContextManager[Sequence[ScreeningTransaction]]:
        return self._opened().screenings(keys)

    def encode(self, keys: ScreeningKeys, assessment: Assessment) -> EncodedAssessment | None:
        store = self._store
        return None if store is None else store.encode(keys, assessment)

    def write_gate(self) -> AbstractContextManager[None]:
        # No gate before the store is there: its ``screenings`` says UNAVAILABLE.
        store = self._store
        return nullcontext() if store is None else store.write_gate()

    def record_decision(self, record: DecisionRecord) -> Assessment:
        return self._opened().record_decision(record)

    def get_assessment(self, assessment_id: str) -> tuple[Assessment, list[DecisionRecord]]:
        return self._opened().get_assessment(assessment_id)

    def alerts_after(
        self,
        after: int,
        *,
        checkpoint: str | None = None,
        mode: str | None = None,
        limit: int = ALERT_PAGE,
    ) -> list[GroupAlert]:
        return self._opened().alerts_after(after, checkpoint=checkpoint, mode=mode, limit=limit)

    def save_shadows(self, results: Sequence[ShadowResult]) -> None:
        self._opened().save_shadows(results)

    def __getattr__(self, name: str) -> Any:
        # Whatever else a backend offers (the audit's reads): only once it is open.
        return getattr(self._opened(), name)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._store is not None:
                self._store.close()
