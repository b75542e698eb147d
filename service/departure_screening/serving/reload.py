"""Hot reload of the ruleset: on SIGHUP, and by itself when ``--rules`` changes.

A candidate is read (a directory or a bundle, its signatures verified as at start),
validated, and its table tests run; only then does the screener switch to it, and
screenings under way finish on the version they started with. A refused candidate
leaves the serving ruleset in place, logged with its reason and counted.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from departure_screening.metrics import Metrics
from departure_screening.screening.bundle import BundleError, Trust, ruleset_directory
from departure_screening.screening.rule_tests import run_rule_tests
from departure_screening.screening.ruleset import Ruleset, RulesetError, load_ruleset

log = logging.getLogger(__name__)

APPLIED, REFUSED, UNCHANGED = "applied", "refused", "unchanged"
# ``file`` of depscreen_config_reloads_total: the served rules, and the shadow's.
RULES, SHADOW_RULES = "rules", "shadow_rules"


class RulesTarget(Protocol):
    """What a reload swaps the ruleset of: the screener, or the shadow evaluator."""

    @property
    def ruleset(self) -> Ruleset: ...

    def use_ruleset(self, ruleset: Ruleset) -> None: ...


class _Refused(Exception):
    pass


def file_state(path: Path) -> tuple[tuple[str, int, int, int], ...]:
    """What changes when the rules change: every file's identity, size and time.

    Links are followed, so a Kubernetes ConfigMap's swap of its ``..data`` link
    (every file a link through it) shows as new inodes.
    """
    targets = [path]
    if path.is_dir():
        targets = sorted(
            Path(root) / name
            for root, _, names in os.walk(path, followlinks=True)
            for name in names
        )
    state = []
    for target in targets:
        try:
            st = target.stat()
        except OSError:
            continue  # gone between the walk and the stat: the next look sees the change
        state.append((str(target), st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(state)


@dataclass
class RulesReloader:
    path: Path
    trust: Trust
    screener: RulesTarget
    metrics: Metrics
    checkpoints: tuple[str, ...]
    file: str = RULES

    def __post_init__(self) -> None:
        self._lock = threading.Lock()  # one reload at a time
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen = file_state(self.path)

    @property
    def _what(self) -> str:
        return "ruleset" if self.file == RULES else "shadow ruleset"

    def reload(self) -> str:
        """Try the rules at ``path`` now: APPLIED, REFUSED or UNCHANGED."""
        with self._lock:
            self._seen = file_state(self.path)
            try:
                ruleset = self._candidate()
            except _Refused as refused:
                log.warning("%s reload refused, %s keeps serving: %s",
                            self._what, self.screener.ruleset.version, refused)  # fmt: skip
                self.metrics.config_reloads.labels(self.file, REFUSED).inc()
                return REFUSED
            if ruleset is None:
                return UNCHANGED
            previous = self.screener.ruleset.version
            self.screener.use_ruleset(ruleset)
            if self.file == RULES:  # the shadow's version and codes are never served
                self.metrics.initialise(self.checkpoints, (i.code for i in ruleset.indicators))
                self.metrics.set_ruleset_version(ruleset.version)
            self.metrics.config_reloads.labels(self.file, APPLIED).inc()
            log.info("%s reloaded: %s replaces %s", self._what, ruleset.version, previous)
            return APPLIED

    def _candidate(self) -> Ruleset | None:
        try:
            with ruleset_directory(self.path, self.trust) as directory:
                ruleset = load_ruleset(directory)
                if ruleset.version == self.screener.ruleset.version:
                    return None
                failed = [r for r in run_rule_tests(ruleset, directory) if not r.passed]
        except RulesetError as exc:
            raise _Refused("; ".join(exc.problems)) from None
        except (BundleError, OSError) as exc:
            raise _Refused(str(exc)) from None
        if failed:
            first = failed[0]
            raise _Refused(
                f"{len(failed)} table test(s) of {ruleset.version} fail,"
                f" first {first.file}: {first.name}"
            )
        return ruleset

    def request(self) -> None:
        """Reload soon, from the watching thread (safe in a signal handler)."""
        self._wake.set()

    def start(self, poll_seconds: float) -> None:
        """Watch for changes every ``poll_seconds`` (0: only on request)."""
        self._thread = threading.Thread(
            target=self._watch, args=(poll_seconds,), daemon=True, name=f"{self.file}-reload"
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()

    def _watch(self, poll_seconds: float) -> None:
        while not self._stop.is_set():
            requested = self._wake.wait(poll_seconds if poll_seconds > 0 else None)
            self._wake.clear()
            if self._stop.is_set():
                return
            if requested or file_state(self.path) != self._seen:
                try:
                    self.reload()
                except Exception:  # the watcher must outlive any one bad reload
                    log.exception("%s reload failed", self._what)
