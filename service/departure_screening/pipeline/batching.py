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

The queue is bounded: a caller takes a ``place`` before it does any work, and
past ``max_callers`` it is refused at once (``Overloaded``) instead of waiting
behind more commits than it can afford, so the latency of those admitted stays
bounded when more arrives than the store can commit. A caller whose deadline
passes while it waits is dropped when its batch is taken, not run: nobody waits
for its answer any more, and later callers get its share of the commit.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Generic, TypeVar

from departure_screening.errors import DeadlineExpired, Overloaded

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_MAX_BATCH = 500
# Callers in the queue at once (being prepared, waiting or committing): a Screen
# call or a manifest's chunk each. Every admitted caller is a thread the GIL is
# shared with, so a longer queue lengthens the wait of those admitted; a shorter one
# refuses calls during a commit stall of a few hundred ms (at 200/s, 32 places did,
# on a loaded host, in the bench's latency phase).
DEFAULT_MAX_CALLERS = 64
# What a refused caller is told to wait before trying again (clients add jitter):
# about the time a few commits take.
RETRY_AFTER_SECONDS = 0.1


def _ignore(change: int) -> None:
    return None


class _Ticket(Generic[T, R]):
    __slots__ = ("deadline", "done", "error", "items", "results", "wake")

    def __init__(self, items: Sequence[T], deadline: float | None) -> None:
        self.items = items
        self.deadline = deadline  # time.monotonic(); None: no deadline
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
        max_callers: int = DEFAULT_MAX_CALLERS,
        on_depth: Callable[[int], None] = _ignore,
    ) -> None:
        """``on_depth`` is told of each change (+1, -1) of the callers holding a place."""
        if max_callers < 1:
            raise ValueError(f"the commit queue needs room for a caller, got {max_callers}")
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._gate = gate
        self.max_callers = max_callers
        self._on_depth = on_depth
        self._callers = 0
        self._lock = threading.Lock()
        self._queue: deque[_Ticket[T, R]] = deque()
        self._leading = False
        self._last_error: BaseException | None = None

    @property
    def depth(self) -> int:
        """Callers holding a place now."""
        return self._callers

    @contextmanager
    def place(self) -> Iterator[None]:
        """A caller's place, held until the block ends (its ``submit`` inside it).

        Raises ``Overloaded`` at once when every place is taken: the caller has
        done nothing yet, and nothing of it is stored.
        """
        with self._lock:
            admitted = self._callers < self.max_callers
            if admitted:
                self._callers += 1
        if not admitted:
            raise Overloaded(
                f"all {self.max_callers} places of the commit queue are taken; retry later",
                self.max_callers,
                RETRY_AFTER_SECONDS,
            )
        self._on_depth(1)
        try:
            yield
        finally:
            with self._lock:
                self._callers -= 1
            self._on_depth(-1)

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

    def submit(self, items: Sequence[T], deadline: float | None = None) -> list[R]:
        """Results in the order of ``items``; raises what failed the whole transaction,
        or ``DeadlineExpired`` when ``deadline`` (``time.monotonic()``) passed first."""
        if _expired(deadline, time.monotonic()):
            raise DeadlineExpired("the deadline passed before the commit")
        ticket: _Ticket[T, R] = _Ticket(items, deadline)
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
                taken = False
                try:
                    with self._gate():
                        with self._lock:
                            batch, expired = self._take()
                        taken = True
                        self._expire(expired)
                        if batch:
                            self._run(batch)
                except BaseException as error:
                    if not taken:
                        # The gate refused: what this leader would have run fails with
                        # it, and the lead passes on below instead of being lost.
                        with self._lock:
                            batch, expired = self._take()
                        batch += expired
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

    def _take(self) -> tuple[list[_Ticket[T, R]], list[_Ticket[T, R]]]:
        """The next batch, and the callers whose deadline passed while they waited."""
        batch: list[_Ticket[T, R]] = []
        expired: list[_Ticket[T, R]] = []
        size = 0
        now = time.monotonic()
        while self._queue:
            ticket = self._queue[0]
            if _expired(ticket.deadline, now):
                expired.append(self._queue.popleft())
                continue
            if batch and size + len(ticket.items) > self._max_batch:
                break
            batch.append(self._queue.popleft())
            size += len(ticket.items)
        return batch, expired

    def _expire(self, expired: list[_Ticket[T, R]]) -> None:
        for ticket in expired:
            ticket.error = DeadlineExpired("the deadline passed while waiting for the commit")
        self._wake(expired)

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


def _expired(deadline: float | None, now: float) -> bool:
    return deadline is not None and deadline <= now
