"""``ScreeningService``: translate proto ↔ domain, map domain errors to status codes."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Collection, Iterator
from typing import Any, TypeVar

import grpc
from grpc_status import rpc_status

from departure_screening import domain
from departure_screening.api import convert, validation
from departure_screening.api.access_log import log_rpc
from departure_screening.api.caller import current_principal
from departure_screening.api.limits import Slots, StreamLimits
from departure_screening.api.status import code_name, status_for
from departure_screening.errors import (
    DeadlineExpired,
    InvalidArgument,
    Overloaded,
    Refused,
    ScreeningError,
    StoreUnavailable,
)
from departure_screening.metrics import Metrics
from departure_screening.pipeline.screener import Screener, utc_now
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

R = TypeVar("R")
# Most manifest items screened in one transaction.
MANIFEST_CHUNK = 500
# How often a WatchAlerts stream checks that its client is still there.
WATCH_POLL_SECONDS = 0.5
# A call without a deadline reports one this far away or further (gRPC's "infinite").
NO_DEADLINE_SECONDS = 365 * 24 * 3600.0


class ScreeningServicer(pb_grpc.ScreeningServiceServicer):  # type: ignore[misc]
    def __init__(
        self,
        screener: Screener,
        checkpoints: Collection[str],
        metrics: Metrics,
        limits: StreamLimits | None = None,
    ) -> None:
        self._screener = screener
        self._checkpoints = frozenset(checkpoints)
        self._metrics = metrics
        limits = limits or StreamLimits()
        self._watch_slots = Slots(limits.watchers)
        self._manifest_slots = Slots(limits.manifest_streams)
        # Labelled children looked up once, not at every call.
        self._requests: dict[tuple[str, str], Any] = {}
        self._screen_seconds = metrics.screening_duration.labels("Screen")
        self._manifest_seconds = metrics.screening_duration.labels("ScreenManifest")

    # -- helpers -------------------------------------------------------------

    def _unary(
        self,
        method: str,
        context: grpc.ServicerContext,
        call: Callable[[], R],
        request_id: str = "",
        assessment_id: str = "",
    ) -> R:
        """Run ``call``; count and log the outcome; turn a domain error into its status."""
        started = time.perf_counter()
        code = "INTERNAL"
        try:
            result = call()
            code = "OK"
        except ScreeningError as error:
            code = code_name(status_for(error).code)
            self._abort(method, context, error)
            raise  # _abort raises; this is for type checkers
        except Exception:
            log.exception("%s failed", method)
            self._count(method, code)
            context.abort(grpc.StatusCode.INTERNAL, "internal error")
            raise
        finally:
            if code == "OK" and isinstance(result, pb.ScreenResponse):
                assessment_id = result.assessment.assessment_id
            log_rpc(method, code, started, request_id, assessment_id)
        self._count(method, code)
        return result

    def _abort(self, method: str, context: grpc.ServicerContext, error: ScreeningError) -> None:
        """Count the error's status code and end the call with it (raises)."""
        status = status_for(error)
        self._count(method, code_name(status.code))
        context.abort_with_status(rpc_status.to_status(status))

    def _refuse_busy(self, method: str, context: grpc.ServicerContext, slots: Slots) -> None:
        """Every slot of ``method`` is taken: RESOURCE_EXHAUSTED now, never a wait."""
        self._count(method, "RESOURCE_EXHAUSTED")
        context.abort(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"{method}: all {slots.most} streams of this server are open; retry later",
        )

    def _count(self, method: str, code: str) -> None:
        counter = self._requests.get((method, code))
        if counter is None:
            counter = self._requests[method, code] = self._metrics.rpc_requests.labels(method, code)
        counter.inc()

    def _screen_one(self, request: pb.ScreenRequest, deadline: float | None) -> pb.Assessment:
        started = time.perf_counter()
        if deadline is not None and deadline <= time.monotonic():
            # It waited for a server thread past its deadline: its caller has gone.
            raise DeadlineExpired("the deadline passed before the call began")
        violations = validation.screening_violations(request, self._checkpoints)
        if violations:
            raise InvalidArgument(violations)
        outcome = self._screener.screen(
            convert.screening_from_pb(request.screening, current_principal.get()), deadline
        )
        self._screen_seconds.observe(time.perf_counter() - started)
        return convert.assessment_to_pb(outcome.assessment)

    def _screen_chunk(
        self, requests: list[pb.ScreenManifestRequest], deadline: float | None
    ) -> list[pb.ScreenManifestResponse]:
        """Valid items go to the store together; each bad item gets its own error."""
        started = time.perf_counter()
        responses: list[pb.ScreenManifestResponse | None] = []
        by = current_principal.get()
        valid: list[domain.Screening] = []
        for request in requests:
            violations = validation.screening_violations(request, self._checkpoints)
            if violations:
                responses.append(
                    pb.ScreenManifestResponse(error=status_for(InvalidArgument(violations)))
                )
            else:
                responses.append(None)
                valid.append(convert.screening_from_pb(request.screening, by))
        results = iter(self._screener.screen_many(valid, deadline) if valid else [])
        elapsed = time.perf_counter() - started
        observe = self._manifest_seconds.observe
        out: list[pb.ScreenManifestResponse] = []
        for response in responses:
            if response is None:
                result = next(results)
                if isinstance(result, ScreeningError):
                    response = pb.ScreenManifestResponse(error=status_for(result))
                else:
                    observe(elapsed)
                    response = pb.ScreenManifestResponse(
                        assessment=convert.assessment_to_pb(result.assessment)
                    )
            out.append(response)
        return out

    # -- RPCs ----------------------------------------------------------------

    def Screen(self, request: pb.ScreenRequest, context: grpc.ServicerContext) -> pb.ScreenResponse:
        deadline = call_deadline(context)
        return self._unary(
            "Screen",
            context,
            lambda: pb.ScreenResponse(assessment=self._screen_one(request, deadline)),
            request_id=request.screening.request_id,
        )

    def ScreenManifest(
        self, requests: Iterator[pb.ScreenManifestRequest], context: grpc.ServicerContext
    ) -> Iterator[pb.ScreenManifestResponse]:
        """One response per request, in order; a bad item gets its own error.

        Requests are read ahead on a thread of their own, and whatever has arrived
        (up to a chunk) is screened in one transaction, so a burst costs a few
        durable commits rather than one per traveller.
        """
        started = time.perf_counter()
        with self._manifest_slots.held() as got:
            if not got:
                log_rpc("ScreenManifest", "RESOURCE_EXHAUSTED", started)
                self._refuse_busy("ScreenManifest", context, self._manifest_slots)
            yield from self._manifest(requests, context, started)

    def _manifest(
        self,
        requests: Iterator[pb.ScreenManifestRequest],
        context: grpc.ServicerContext,
        started: float,
    ) -> Iterator[pb.ScreenManifestResponse]:
        code = "OK"
        items = 0
        deadline = call_deadline(context)
        try:
            for chunk in read_ahead(requests, MANIFEST_CHUNK):
                try:
                    responses = self._screen_chunk(chunk, deadline)
                except (StoreUnavailable, Overloaded, DeadlineExpired) as error:
                    # Without a store, room in the commit queue or time, nothing later
                    # succeeds either: end the stream (what was answered is stored; the
                    # sender resumes from there, retries keeping their request ids).
                    status = status_for(error)
                    code = code_name(status.code)
                    context.abort_with_status(rpc_status.to_status(status))
                items += len(responses)
                yield from responses
        except Refused:
            code = ""  # refused at an item: counted by access control
            raise
        except Exception:
            if code == "OK":
                code = "INTERNAL" if context.is_active() else "CANCELLED"
            raise
        finally:
            if code:  # a refusal by access control is counted there
                self._count("ScreenManifest", code)
            log_rpc("ScreenManifest", code or "PERMISSION_DENIED", started, items=items)

    def RecordDecision(
        self, request: pb.RecordDecisionRequest, context: grpc.ServicerContext
    ) -> pb.RecordDecisionResponse:
        def call() -> pb.RecordDecisionResponse:
            violations = validation.decision_violations(request)
            if violations:
                raise InvalidArgument(violations)
            record = self._screener.record_decision(
                convert.decision_from_pb(request, utc_now(), current_principal.get())
            )
            return pb.RecordDecisionResponse(decision=convert.decision_to_pb(record))

        return self._unary(
            "RecordDecision",
            context,
            call,
            # The field is newer than some clients' generated code.
            request_id=getattr(request, "request_id", ""),
            assessment_id=request.assessment_id,
        )

    def GetAssessment(
        self, request: pb.GetAssessmentRequest, context: grpc.ServicerContext
    ) -> pb.GetAssessmentResponse:
        def call() -> pb.GetAssessmentResponse:
            violations = validation.assessment_id_violations(request.assessment_id)
            if violations:
                raise InvalidArgument(violations)
            assessment, decisions = self._screener.get_assessment(request.assessment_id)
            return pb.GetAssessmentResponse(
                assessment=convert.assessment_to_pb(assessment),
                decisions=[convert.decision_to_pb(d) for d in decisions],
            )

        return self._unary("GetAssessment", context, call, assessment_id=request.assessment_id)

    def ListIndicators(
        self, request: pb.ListIndicatorsRequest, context: grpc.ServicerContext
    ) -> pb.ListIndicatorsResponse:
        return self._unary(
            "ListIndicators", context, lambda: convert.indicators_to_pb(self._screener.ruleset)
        )

    def WatchAlerts(
        self, request: pb.WatchAlertsRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.WatchAlertsResponse]:
        started = time.perf_counter()
        violations = validation.watch_violations(request, self._checkpoints)
        if violations:
            log_rpc("WatchAlerts", "INVALID_ARGUMENT", started)
            self._abort("WatchAlerts", context, InvalidArgument(violations))
        with self._watch_slots.held() as got:
            if not got:
                log_rpc("WatchAlerts", "RESOURCE_EXHAUSTED", started)
                self._refuse_busy("WatchAlerts", context, self._watch_slots)
            try:
                yield from self._watch(request, context)
            finally:
                log_rpc("WatchAlerts", "CANCELLED", started)

    def _watch(
        self, request: pb.WatchAlertsRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.WatchAlertsResponse]:
        mode = pb.Mode.Name(request.mode)
        store = self._screener.store
        after = validation.alert_id_from_pb(request.after_alert_id) or 0
        with store.alerts.subscribe(request.checkpoint, mode) as live:
            # Tell the client the subscription is live before any alert can be missed.
            context.send_initial_metadata((("x-depscreen-watching", "1"),))
            last = after
            if request.after_alert_id:
                # Subscribed first: whatever commits after this read reaches ``live``.
                try:
                    for alert in self._stored_alerts(request.checkpoint, mode, after):
                        yield pb.WatchAlertsResponse(alert=convert.alert_to_pb(alert))
                        last = alert.alert_id
                except StoreUnavailable as error:
                    self._abort("WatchAlerts", context, error)
            while context.is_active():
                if live.overflowed:
                    self._count("WatchAlerts", "RESOURCE_EXHAUSTED")
                    context.abort(
                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                        "WatchAlerts: the console fell too far behind; resume with"
                        f" after_alert_id={convert.alert_id_to_pb(last)!r}",
                    )
                try:
                    alert = live.get(timeout=WATCH_POLL_SECONDS)
                except queue.Empty:
                    continue
                if alert.alert_id <= last:
                    continue  # sent already by the replay
                yield pb.WatchAlertsResponse(alert=convert.alert_to_pb(alert))
                last = alert.alert_id
        self._count("WatchAlerts", "CANCELLED")

    def _stored_alerts(self, checkpoint: str, mode: str, after: int) -> Iterator[domain.GroupAlert]:
        store = self._screener.store
        while True:
            page = store.alerts_after(after, checkpoint=checkpoint, mode=mode)
            yield from page
            if not page:
                return
            after = page[-1].alert_id


def call_deadline(context: grpc.ServicerContext) -> float | None:
    """The call's deadline on ``time.monotonic()``'s clock; None without one."""
    remaining = context.time_remaining()
    if remaining is None or remaining > NO_DEADLINE_SECONDS:
        return None
    return time.monotonic() + float(remaining)


_END = object()
# How long the reader waits for room before it looks again whether the stream ended.
_READER_POLL_SECONDS = 0.5


def read_ahead(requests: Iterator[R], most: int) -> Iterator[list[R]]:
    """Chunks of what has already arrived: never waits for a full chunk.

    At most ``most`` requests wait to be screened: the reader stops reading when
    they are there, so gRPC stops taking the stream's messages and HTTP/2 flow
    control holds back a sender faster than the screening.
    """
    arrived: queue.Queue[Any] = queue.Queue(maxsize=most)
    done = threading.Event()

    def put(item: Any) -> bool:
        while not done.is_set():
            try:
                arrived.put(item, timeout=_READER_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def pump() -> None:
        try:
            for request in requests:
                if not put(request):
                    return  # the stream ended early (an error): read no more
        except Exception as error:  # the client went away: end the chunks too
            put(error)
        put(_END)

    threading.Thread(target=pump, daemon=True, name="manifest-reader").start()
    try:
        while True:
            first = arrived.get()
            if first is _END:
                return
            if isinstance(first, Exception):
                raise first
            chunk = [first]
            last: Any = None  # _END or an error, after this chunk
            while len(chunk) < most:
                try:
                    item = arrived.get_nowait()
                except queue.Empty:
                    break
                if item is _END or isinstance(item, Exception):
                    last = item
                    break
                chunk.append(item)
            yield chunk
            if isinstance(last, Exception):
                raise last
            if last is _END:
                return
    finally:
        done.set()
