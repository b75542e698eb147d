"""Several screening observers told of the same events, in order."""

from __future__ import annotations

from departure_screening.domain import Assessment, DecisionRecord, GroupAlert
from departure_screening.pipeline.screener import ScreeningObserver


class AllObservers:
    def __init__(self, *observers: ScreeningObserver) -> None:
        self._observers = observers

    def assessed(self, assessment: Assessment) -> None:
        for o in self._observers:
            o.assessed(assessment)

    def decided(self, assessment: Assessment, decision: DecisionRecord) -> None:
        for o in self._observers:
            o.decided(assessment, decision)

    def alerted(self, alert: GroupAlert) -> None:
        for o in self._observers:
            o.alerted(alert)

    def queue_depth(self, change: int) -> None:
        for o in self._observers:
            o.queue_depth(change)
