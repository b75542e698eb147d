"""Bounds on the long-lived calls, so that they never take every thread.

A ``WatchAlerts`` or ``ScreenManifest`` call holds a server thread for as long as
it is open (a console all day, a manifest for minutes). Each method has a fixed
number of slots; a call past them ends at once with RESOURCE_EXHAUSTED, and the
server's thread pool is sized to hold every slot and still have threads for the
short calls (see ``serving/server.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

DEFAULT_MAX_WATCHERS = 256
DEFAULT_MAX_MANIFEST_STREAMS = 32


@dataclass(frozen=True, slots=True)
class StreamLimits:
    watchers: int = DEFAULT_MAX_WATCHERS
    manifest_streams: int = DEFAULT_MAX_MANIFEST_STREAMS

    def __post_init__(self) -> None:
        if self.watchers < 1 or self.manifest_streams < 1:
            raise ValueError("stream limits must be at least 1")


class Slots:
    """A fixed number of places; taking one never waits."""

    def __init__(self, most: int) -> None:
        self.most = most
        self._free = threading.BoundedSemaphore(most)

    @contextmanager
    def held(self) -> Iterator[bool]:
        """True inside when a place was free (and is held until the block ends)."""
        got = self._free.acquire(blocking=False)
        try:
            yield got
        finally:
            if got:
                self._free.release()
