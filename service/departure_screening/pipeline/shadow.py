"""Shadow evaluation: each committed screening judged again by a candidate ruleset.

The pipeline hands the evaluator an assessment once its real answer is made and
committed; the evaluator only queues it (never blocking: a full queue drops it,
counted), and a thread of its own scores the stored facts on the shadow ruleset,
stores the results beside their assessments and counts them. Nothing it does,
or fails to do, reaches the answer the caller gets.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from departure_screening.domain import Assessment, DecisionRecord, GroupAlert
from departure_screening.screening.policy import PolicyHolder
from departure_screening.screening.ruleset import Ruleset
from departure_screening.screening.shadow import ShadowResult, shadow_result

log = logging.getLogger(__name__)

# Screenings waiting for the shadow; past this they are dropped, not waited for.
QUEUE_CAPACITY = 10_000
# Shadow results stored per transaction: one durable commit for many.
BATCH = 256
# Why a screening got no shadow result (``depscreen_shadow_failures_total{stage}``).
DROPPED, EVALUATION, STORE = "dropped", "evaluation", "store"
STAGES = (DROPPED, EVALUATION, STORE)


class ShadowSink(Protocol):
    def save_shadows(self, results: Sequence[ShadowResult]) -> None: ...


class ShadowObserver(Protocol):
    def shadowed(self, assessment: Assessment, result: ShadowResult) -> None: ...

    def shadow_failed(self, stage: str, count: int) -> None: ...


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ShadowEvaluator:
    """A screening observer that evaluates committed assessments on the shadow ruleset."""

    def __init__(
        self,
        ruleset: Ruleset,
        sink: ShadowSink,
        observer: ShadowObserver,
        clock: Callable[[], dt.datetime] = _utc_now,
        capacity: int = QUEUE_CAPACITY,
    ) -> None:
        self._policies = PolicyHolder(ruleset)
        self._sink = sink
        self._observer = observer
        self._clock = clock
        self._queue: queue.Queue[Assessment | None] = queue.Queue(capacity)
        self._thread = threading.Thread(target=self._run, daemon=True, name="shadow-rules")
        self._thread.start()

    @property
    def ruleset(self) -> Ruleset:
        return self._policies.current.ruleset

    def use_ruleset(self, ruleset: Ruleset) -> None:
        self._policies.swap(ruleset)

    # -- as a screening observer, in the caller's thread: queue and return --

    def assessed(self, assessment: Assessment) -> None:
        # A preliminary assessment is a preview the counter screening supersedes; the
        # backtest skips it too.
        if assessment.facts is None or assessment.preliminary:
            return
        try:
            self._queue.put_nowait(assessment)
        except queue.Full:
            self._observer.shadow_failed(DROPPED, 1)

    def decided(self, assessment: Assessment, decision: DecisionRecord) -> None:
        return None

    def queue_depth(self, change: int) -> None:
        return None

    def alerted(self, alert: GroupAlert) -> None:
        return None

    # -- the shadow's own thread --

    def close(self, timeout: float = 5.0) -> None:
        """Finish what is queued (for at most ``timeout`` seconds), then stop."""
        with contextlib.suppress(queue.Full):  # still full: the thread is left behind
            self._queue.put(None, timeout=timeout)
        self._thread.join(timeout)
        self._policies.close()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._evaluate(batch)
            if stop:
                return

    def _evaluate(self, batch: Sequence[Assessment]) -> None:
        done: list[tuple[Assessment, ShadowResult]] = []
        with self._policies.using() as policy:
            for assessment in batch:
                try:
                    result = shadow_result(policy.engine, policy.ruleset, assessment, self._clock())
                except Exception:  # a shadow failure never goes further than a log line
                    log.exception("shadow ruleset %s failed on an assessment",
                                  policy.ruleset.version)  # fmt: skip
                    self._observer.shadow_failed(EVALUATION, 1)
                    continue
                if result is not None:
                    done.append((assessment, result))
        try:
            self._sink.save_shadows([r for _, r in done])
        except Exception as exc:
            log.warning("%d shadow result(s) not stored: %s", len(done), exc)
            self._observer.shadow_failed(STORE, len(done))
            return
        for assessment, result in done:
            self._observer.shadowed(assessment, result)
