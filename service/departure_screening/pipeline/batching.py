"""Group commit: work that arrives together shares one store transaction.

Counter calls and manifests arriving at the same moment would otherwise each
wait for a durable commit of their own. Here the first caller to find the store
idle becomes the leader: it takes everything queued (up to ``max_batch`` items),
runs it as one transaction, hands each caller its own results, and the next
leader takes what queued meanwhile. A lone request is never delayed to wait for
company; each is acknowledged only after the commit that holds it.

The leader takes its batch inside ``gate`` (the store's write lock, when several
processes share one store): whatever arrives while it waits for another process's
commit joins its batch instead of waiting for the next one.

A gate or a transaction that raises (a lock timeout, a full disk, a lost
connection) fails the batch it was for, and only that batch: the lead passes on
and later callers run. ``last_failed`` says whether the latest batch failed, so
that health can report a store that can be read but cannot commit.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_MAX_BATCH = 500


class _Ticket(Generic[T, R]):
    __slots__ = ("done", "error", "items", "results", "wake")

    def __init__(self, items: Sequence[T]) -> None:
        self.items = items
        self.results: list[R] = []
        self.error: BaseException | None = None
        self.done = False
        # Held until this caller has to run: when its batch is done, or when it is
        # to lead the next one. Waking exactly that thread, not every waiter, keeps
        # sleeping callers from contending for the GIL after each commit.
        self.wake = threading.Lock()
        self.wake.acquire()


class CommitQueue(Generic[T, R]):
    def __init__(
        self,
        run_batch: Callable[[Sequence[T]], list[R]],
        max_batch: int = DEFAULT_MAX_BATCH,
        gate: Callable[[], AbstractContextManager[None]] = nullcontext,
    ) -> None:
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._gate = gate
        self._lock = threading.Lock()
        self._queue: deque[_Ticket[T, R]] = deque()
        self._leading = False
        self._last_error: BaseException | None = None

    @property
    def last_failed(self) -> bool:
        """True when the latest batch (its gate or its transaction) raised."""
        return self._last_error is not None

    def probe(self) -> bool:
        """Run an empty batch through the gate and the store; True when it commits."""
        try:
            self.submit([])
        except Exception:
            return False
        return True

    def submit(self, items: Sequence[T]) -> list[R]:
        """Results in the order of ``items``; raises what failed the whole transaction."""
        ticket: _Ticket[T, R] = _Ticket(items)
        with self._lock:
            self._queue.append(ticket)
            follow = self._leading
            self._leading = True
        if follow:
            ticket.wake.acquire()  # done, or handed the lead
        if not ticket.done:
            self._lead(ticket)
        if ticket.error is not None:
            raise ticket.error
        return ticket.results

    def _lead(self, own: _Ticket[T, R]) -> None:
        try:
            while not own.done:
                batch: list[_Ticket[T, R]] = []
                try:
                    with self._gate():
                        with self._lock:
                            batch = self._take()
                        self._run(batch)
                except BaseException as error:
                    if not batch:
                        # The gate refused: what this leader would have run fails with
                        # it, and the lead passes on below instead of being lost.
                        with self._lock:
                            batch = self._take()
                        self._fail(batch, error)
                    # Else only leaving the gate failed, after the batch had its outcome.
                    self._last_error = error
                finally:
                    self._wake(batch)
        finally:
            with self._lock:
                successor = self._queue[0] if self._queue else None
                self._leading = successor is not None
            if successor is not None:
                successor.wake.release()

    def _take(self) -> list[_Ticket[T, R]]:
        batch = [self._queue.popleft()]
        size = len(batch[0].items)
        while self._queue and size + len(self._queue[0].items) <= self._max_batch:
            ticket = self._queue.popleft()
            size += len(ticket.items)
            batch.append(ticket)
        return batch

    def _run(self, batch: list[_Ticket[T, R]]) -> None:
        items = [item for ticket in batch for item in ticket.items]
        try:
            results = self._run_batch(items)
        except BaseException as error:  # the store failed: nobody is acknowledged
            self._fail(batch, error)
        else:
            self._last_error = None
            at = 0
            for ticket in batch:
                ticket.results = results[at : at + len(ticket.items)]
                at += len(ticket.items)

    def _fail(self, batch: list[_Ticket[T, R]], error: BaseException) -> None:
        self._last_error = error
        for ticket in batch:
            ticket.error = error

    @staticmethod
    def _wake(batch: list[_Ticket[T, R]]) -> None:
        for ticket in batch:
            ticket.done = True
            ticket.wake.release()
