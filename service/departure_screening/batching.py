"""Group commit: screenings that arrive together share one store transaction.

Counter calls and manifests arriving at the same moment would otherwise each
wait for a durable commit of their own. Here the first caller to find the store
idle becomes the leader: it takes everything queued (up to ``max_batch``
screenings), runs it as one transaction, hands each caller its own result, and
the next leader takes what queued meanwhile. A lone request is never delayed to
wait for company; each is acknowledged only after the commit that holds it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence

from departure_screening.domain import Screening, ScreenOutcome
from departure_screening.errors import ScreeningError

Result = ScreenOutcome | ScreeningError
ScreenBatch = Callable[[Sequence[Screening]], list[Result]]

DEFAULT_MAX_BATCH = 500


class _Ticket:
    __slots__ = ("done", "error", "items", "results")

    def __init__(self, items: Sequence[Screening]) -> None:
        self.items = items
        self.results: list[Result] = []
        self.error: BaseException | None = None
        self.done = False


class CommitQueue:
    def __init__(self, screen_batch: ScreenBatch, max_batch: int = DEFAULT_MAX_BATCH) -> None:
        self._screen_batch = screen_batch
        self._max_batch = max_batch
        self._cv = threading.Condition()
        self._queue: deque[_Ticket] = deque()
        self._leading = False

    def screen(self, screening: Screening) -> ScreenOutcome:
        (result,) = self.screen_many([screening])
        if isinstance(result, ScreeningError):
            raise result
        return result

    def screen_many(self, items: Sequence[Screening]) -> list[Result]:
        """Results in the order of ``items``; raises what failed the whole transaction."""
        ticket = _Ticket(items)
        with self._cv:
            self._queue.append(ticket)
            while self._leading and not ticket.done:
                self._cv.wait()
            if not ticket.done:
                self._leading = True
        if not ticket.done:
            self._lead(ticket)
        if ticket.error is not None:
            raise ticket.error
        return ticket.results

    def _lead(self, own: _Ticket) -> None:
        try:
            while not own.done:
                with self._cv:
                    batch = self._take()
                self._run(batch)
        finally:
            with self._cv:
                self._leading = False
                self._cv.notify_all()

    def _take(self) -> list[_Ticket]:
        batch = [self._queue.popleft()]
        size = len(batch[0].items)
        while self._queue and size + len(self._queue[0].items) <= self._max_batch:
            ticket = self._queue.popleft()
            size += len(ticket.items)
            batch.append(ticket)
        return batch

    def _run(self, batch: list[_Ticket]) -> None:
        items = [s for ticket in batch for s in ticket.items]
        try:
            results = self._screen_batch(items)
        except BaseException as error:  # the store failed: nobody is acknowledged
            for ticket in batch:
                ticket.error = error
        else:
            at = 0
            for ticket in batch:
                ticket.results = results[at : at + len(ticket.items)]
                at += len(ticket.items)
        with self._cv:
            for ticket in batch:
                ticket.done = True
            self._cv.notify_all()
