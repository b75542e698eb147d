"""A file whose parsed contents follow the file: re-read when it changes, old kept if bad."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
# Told of every re-read: (file label, "applied" or "refused").
ReloadListener = Callable[[str, str], None]


Stamp = tuple[tuple[int, int, int] | None, ...]


def _stamp(paths: tuple[Path, ...]) -> Stamp:
    def one(path: Path) -> tuple[int, int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    return tuple(one(p) for p in paths)


class WatchedFile(Generic[T]):
    """``current()`` gives what ``load`` made of ``paths``; after any of them changes it is
    loaded again on the next look, and a version that does not load leaves the previous
    contents in place (a certificate and its key are watched together this way).

    The first load happens in the constructor and raises: a bad file at start is refused.
    With ``recheck_seconds``, the files are looked at no more often than that: a file read
    on every call costs a ``stat`` per call, and each one lets go of the GIL, which a busy
    server takes long to get back (two per call cost a quarter of the calls under load).
    """

    def __init__(
        self,
        label: str,
        paths: tuple[Path, ...],
        load: Callable[[], T],
        listener: ReloadListener,
        recheck_seconds: float = 0.0,
    ) -> None:
        self.label = label
        self.paths = paths
        self._load = load
        self._listener = listener
        self._lock = threading.Lock()
        self._recheck = recheck_seconds
        self._checked = time.monotonic()
        self._stamp = _stamp(paths)
        self._value = load()

    def current(self) -> T:
        """The contents, re-read first if a file changed (a stat per file)."""
        return self.refresh()[0]

    def refresh(self) -> tuple[T, bool]:
        """The contents, and whether they were replaced by this look."""
        if self._recheck:
            now = time.monotonic()
            if now - self._checked < self._recheck:
                return self._value, False
            self._checked = now  # unlocked: at worst two threads look at once
        stamp = _stamp(self.paths)
        if stamp != self._stamp and None not in stamp:
            with self._lock:
                if stamp != self._stamp:
                    replaced = self._reload(stamp)
                    return self._value, replaced
        return self._value, False

    def _reload(self, stamp: Stamp) -> bool:
        self._stamp = stamp  # a refused version is not retried until a file changes again
        names = ", ".join(str(p) for p in self.paths)
        try:
            self._value = self._load()
        except Exception as error:
            log.error(
                "%s (%s) changed but is refused; the previous one stays: %s",
                self.label,
                names,
                error,
            )
            self._listener(self.label, "refused")
            return False
        log.info("%s (%s) re-read", self.label, names)
        self._listener(self.label, "applied")
        return True
