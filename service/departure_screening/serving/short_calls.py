"""Short calls get threads of their own and a bounded wait for one.

Under overload most of a call's time was spent before its handler ran: waiting in
the server's one thread pool behind hundreds of others, each of those threads
taking its turn at the GIL. So the service's unary calls (``Screen``,
``RecordDecision``, ``GetAssessment``, ``ListIndicators``) run on a pool of
``--workers`` threads, and the gate below, an interceptor that gRPC runs in its
polling thread as the call arrives, decides before any work:

- past ``workers + queued`` short calls admitted and not finished, a call is
  refused with RESOURCE_EXHAUSTED at once instead of joining the queue;
- an admitted call that waited longer than ``max_wait`` for its thread is refused
  the same way when the thread takes it, having done nothing (its caller would
  rather retry elsewhere than wait on).

Refusals run on a small pool of their own, so they never wait behind admitted
calls. Streams (``WatchAlerts``, ``ScreenManifest``) and health keep the server's
default pool, which has a thread for each stream slot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent import futures
from typing import Any, TypeVar

import grpc
from google.rpc import code_pb2, status_pb2
from grpc_status import rpc_status

from departure_screening.api.access_log import log_rpc
from departure_screening.api.status import retry_details
from departure_screening.metrics import Metrics

T = TypeVar("T")
# ``google.rpc.ErrorInfo`` reason of a short call refused by the gate.
SERVER_BUSY_REASON = "SERVER_BUSY"
# What the refusal's RetryInfo suggests: about one queue's worth of work.
RETRY_AFTER_SECONDS = 0.1
# Threads that answer refusals: a refusal is a few microseconds of Python.
REFUSAL_THREADS = 2


class ShortCallGate(grpc.ServerInterceptor):  # type: ignore[misc]
    """Admits the service's unary calls to their own pool, or refuses them at once."""

    def __init__(
        self,
        service: str,
        workers: int,
        queued: int,
        max_wait: float,
        metrics: Metrics,
    ) -> None:
        self._prefix = f"/{service}/"
        self.most = workers + queued
        self.max_wait = max_wait
        self._metrics = metrics
        self.pool = CountingPool(max_workers=workers, thread_name_prefix="short")
        self._refusals = futures.ThreadPoolExecutor(
            max_workers=REFUSAL_THREADS, thread_name_prefix="refuse"
        )

    def intercept_service(
        self, continuation: Callable[[Any], Any], details: grpc.HandlerCallDetails
    ) -> Any:
        handler = continuation(details)
        if handler is None or not details.method.startswith(self._prefix):
            return handler
        if handler.request_streaming or handler.response_streaming:
            return handler
        method = details.method[len(self._prefix) :]
        # Only this polling thread submits, so the count cannot pass ``most`` between
        # this check and the submission.
        if self.pool.unfinished >= self.most:
            return self._refusal(handler, method, f"{self.most} calls are already queued")
        return self._admitted_call(handler, method, time.monotonic())

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False)
        self._refusals.shutdown(wait=False)

    def _admitted_call(self, handler: Any, method: str, arrived: float) -> Any:
        inner = handler.unary_unary

        def unary_unary(request: Any, context: grpc.ServicerContext) -> Any:
            waited = time.monotonic() - arrived
            self._metrics.call_wait.observe(waited)
            if waited > self.max_wait:
                self._refuse(method, context, f"it waited {waited * 1000:.0f} ms for a thread")
            return inner(request, context)

        unary_unary.experimental_thread_pool = self.pool  # type: ignore[attr-defined]
        return _unary_handler(handler, unary_unary)

    def _refusal(self, handler: Any, method: str, why: str) -> Any:
        def unary_unary(request: Any, context: grpc.ServicerContext) -> Any:
            self._refuse(method, context, why)

        unary_unary.experimental_thread_pool = self._refusals  # type: ignore[attr-defined]
        return _unary_handler(handler, unary_unary)

    def _refuse(self, method: str, context: grpc.ServicerContext, why: str) -> None:
        """RESOURCE_EXHAUSTED with ErrorInfo and RetryInfo; raises."""
        log_rpc(method, "RESOURCE_EXHAUSTED", time.perf_counter())
        self._metrics.rpc_requests.labels(method, "RESOURCE_EXHAUSTED").inc()
        context.abort_with_status(rpc_status.to_status(busy_status(method, why)))


class CountingPool(futures.ThreadPoolExecutor):
    """A thread pool that knows how many of its tasks are queued or running.

    Counted per task rather than per handler: gRPC's task for a call runs even when
    the call was cancelled before its handler could start.
    """

    def __init__(self, max_workers: int, thread_name_prefix: str) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._count_lock = threading.Lock()
        self._unfinished = 0

    @property
    def unfinished(self) -> int:
        return self._unfinished

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> futures.Future[T]:
        with self._count_lock:
            self._unfinished += 1

        def counted() -> T:
            try:
                return fn(*args, **kwargs)
            finally:
                with self._count_lock:
                    self._unfinished -= 1

        try:
            return super().submit(counted)
        except BaseException:
            with self._count_lock:
                self._unfinished -= 1
            raise


def busy_status(method: str, why: str) -> status_pb2.Status:
    return status_pb2.Status(
        code=code_pb2.RESOURCE_EXHAUSTED,
        message=f"{method}: the server is busy ({why}); retry later",
        details=retry_details(SERVER_BUSY_REASON, RETRY_AFTER_SECONDS),
    )


def _unary_handler(handler: Any, function: Callable[[Any, grpc.ServicerContext], Any]) -> Any:
    return grpc.unary_unary_rpc_method_handler(
        function,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
