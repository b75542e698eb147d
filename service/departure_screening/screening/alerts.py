"""In-process fan-out of group alerts to the ``WatchAlerts`` streams of this replica."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from departure_screening.domain import GroupAlert


class AlertHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watchers: dict[tuple[str, str], set[queue.SimpleQueue[GroupAlert]]] = {}

    @contextmanager
    def subscribe(self, checkpoint: str, mode: str) -> Iterator[queue.SimpleQueue[GroupAlert]]:
        q: queue.SimpleQueue[GroupAlert] = queue.SimpleQueue()
        key = (checkpoint, mode)
        with self._lock:
            self._watchers.setdefault(key, set()).add(q)
        try:
            yield q
        finally:
            with self._lock:
                self._watchers[key].discard(q)

    def publish(self, alert: GroupAlert) -> None:
        with self._lock:
            targets = list(self._watchers.get((alert.checkpoint, alert.mode), ()))
        for q in targets:
            q.put(alert)

    def watcher_count(self, checkpoint: str, mode: str) -> int:
        with self._lock:
            return len(self._watchers.get((checkpoint, mode), ()))
