"""In-process fan-out of group alerts to the ``WatchAlerts`` streams of this replica.

The store's alert feed publishes every alert once, in ``alert_id`` order. Each
watcher has a bounded buffer: publishing never waits, so a watcher that cannot keep
up is dropped (and told so) instead of slowing the feed, screening or other watchers.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from departure_screening.domain import GroupAlert

# Alerts a watcher may have waiting before it is dropped; a group forms at most a few
# times a minute at a checkpoint, so a console this far behind is not reading.
DEFAULT_WATCHER_BUFFER = 1000


class Watcher:
    """One stream's buffer of alerts not yet sent."""

    def __init__(self, capacity: int) -> None:
        self._waiting: queue.Queue[GroupAlert] = queue.Queue(maxsize=capacity)
        self._overflowed = threading.Event()

    @property
    def overflowed(self) -> bool:
        """True once an alert found the buffer full: the stream must end."""
        return self._overflowed.is_set()

    def offer(self, alert: GroupAlert) -> bool:
        try:
            self._waiting.put_nowait(alert)
            return True
        except queue.Full:
            self._overflowed.set()
            return False

    def get(self, timeout: float | None = None) -> GroupAlert:
        """The next alert; ``queue.Empty`` when none came within ``timeout``."""
        return self._waiting.get(timeout=timeout)

    def get_nowait(self) -> GroupAlert:
        return self._waiting.get_nowait()

    def empty(self) -> bool:
        return self._waiting.empty()


class AlertHub:
    def __init__(self, watcher_buffer: int = DEFAULT_WATCHER_BUFFER) -> None:
        if watcher_buffer < 1:
            raise ValueError("a watcher buffer holds at least one alert")
        self.watcher_buffer = watcher_buffer
        self._lock = threading.Lock()
        self._watchers: dict[tuple[str, str], set[Watcher]] = {}

    @contextmanager
    def subscribe(self, checkpoint: str, mode: str) -> Iterator[Watcher]:
        watcher = Watcher(self.watcher_buffer)
        key = (checkpoint, mode)
        with self._lock:
            self._watchers.setdefault(key, set()).add(watcher)
        try:
            yield watcher
        finally:
            with self._lock:
                self._watchers[key].discard(watcher)

    def publish(self, alert: GroupAlert) -> None:
        key = (alert.checkpoint, alert.mode)
        with self._lock:
            targets = list(self._watchers.get(key, ()))
        for watcher in targets:
            if not watcher.offer(alert):
                with self._lock:
                    self._watchers[key].discard(watcher)

    def watcher_count(self, checkpoint: str, mode: str) -> int:
        with self._lock:
            return len(self._watchers.get((checkpoint, mode), ()))
