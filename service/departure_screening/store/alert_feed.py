"""Stored alerts to this replica's watchers, each once and in ``alert_id`` order.

The feed reads the alerts table past the last id it published, so an alert reaches
the watchers whichever process raised it and however it was announced: a local
commit or a PostgreSQL notification only wakes it sooner, and a notification lost
while the listener reconnected is made up by the next read. Alert ids are given out
under the audit chain's head lock, so they are in commit order and a read never
skips an id that commits later.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from departure_screening.domain import GroupAlert
from departure_screening.errors import StoreUnavailable
from departure_screening.screening.alerts import AlertHub

log = logging.getLogger(__name__)

# Most alerts read in one query (a feed that fell behind reads page after page).
ALERT_PAGE = 500


class AlertFeed:
    def __init__(
        self,
        read_after: Callable[[int], list[GroupAlert]],
        hub: AlertHub,
        *,
        start_after: int,
        poll_seconds: float,
    ) -> None:
        self._read_after = read_after
        self._hub = hub
        self._last = start_after
        self._poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="depscreen-alert-feed", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Something may have been stored: read now instead of at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._poll_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._publish_new()
            except StoreUnavailable as error:
                # Nothing is lost: the next read starts from the same id.
                if not self._stop.is_set():
                    log.warning("alert feed cannot read the store: %s", error)

    def _publish_new(self) -> None:
        while True:
            page = self._read_after(self._last)
            for alert in page:
                self._hub.publish(alert)
                self._last = alert.alert_id
            if len(page) < ALERT_PAGE:
                return

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
