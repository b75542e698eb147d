"""Streams an exercise through ``ScreenManifest`` and collects what the service answered.

Screenings go out in generation order (earlier departures first) on one bidi stream.
A screening that carries a scripted officer decision (the first attempt of a traveller
who later tries again) gets that decision recorded with ``RecordDecision`` before any
later screening is sent, so the later trip finds it in its history.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import grpc
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from departure_screening.access.client import (
    PLAINTEXT,
    ClientCredentials,
    open_channel,
    token_subject,
)
from departure_screening.exercise.generate import GeneratedTraveller
from departure_screening.exercise.results import ItemResult, Observed, RunResult
from departure_screening.exercise.scenario import DECISIONS
from departure_screening.privacy.masking import mask_number
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc

EXERCISE_OFFICER = "EXERCISE"
CONNECT_TIMEOUT_S = 10.0
# No answer on the stream for this long means the service is stuck: stop rather than hang.
STALL_TIMEOUT_S = 60.0
_STATUS_NAMES: dict[int, str] = {code.value[0]: code.name for code in grpc.StatusCode}


class ExerciseError(RuntimeError):
    """The exercise could not be run (server unreachable, stream broken)."""


def status_name(code: int) -> str:
    return _STATUS_NAMES.get(code, str(code))


def connect(
    target: str,
    timeout: float = CONNECT_TIMEOUT_S,
    credentials: ClientCredentials = PLAINTEXT,
) -> grpc.Channel:
    """A channel that is known to be connected, or a clear error naming the target."""
    channel = open_channel(target, credentials)
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError as exc:
        channel.close()
        # A refused TLS handshake looks the same from here as a server that is not there.
        hint = " and do --tls-ca and --tls-cert fit it" if credentials.tls else ""
        raise ExerciseError(
            f"cannot reach the screening service at {target} within {timeout:.0f} s; "
            f"is `depscreen serve` running there{hint}?"
        ) from exc
    return channel


def officer_of(credentials: ClientCredentials) -> str:
    """The officer id decisions are recorded under: the token's, when there is one."""
    return token_subject(credentials) or EXERCISE_OFFICER


def check_training(travellers: Sequence[GeneratedTraveller]) -> None:
    # Exercises must never touch live history, groups or metrics.
    for item in travellers:
        if item.screening.mode != pb.MODE_TRAINING:
            raise ExerciseError(f"{item.screening.request_id} is not in MODE_TRAINING")


def record_decision(
    stub: pb_grpc.ScreeningServiceStub, assessment_id: str, decision: str, *, officer: str
) -> str:
    """Record a scripted decision; returns "" when stored, else why it could not be."""
    request = pb.RecordDecisionRequest(
        assessment_id=assessment_id,
        officer_id=officer,
        decision=DECISIONS[decision],  # type: ignore[arg-type]
        note="Training exercise: scripted decision at an earlier attempt.",
    )
    try:
        stub.RecordDecision(request, timeout=30)
    except grpc.RpcError as exc:
        code: Any = exc.code()
        if code == grpc.StatusCode.UNIMPLEMENTED:
            return "the server does not implement RecordDecision, so no earlier decision exists"
        return f"RecordDecision failed: {code.name}: {exc.details()}"
    return ""


class _DecisionGate:
    """Holds back the request stream until every earlier scripted decision is settled."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._settled = 0
        self._closed = False

    def wait_for(self, count: int) -> bool:
        with self._cond:
            while self._settled < count and not self._closed:
                self._cond.wait(timeout=1.0)
            return not self._closed

    def settle(self) -> None:
        with self._cond:
            self._settled += 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


def run_exercise(
    travellers: Sequence[GeneratedTraveller],
    target: str,
    *,
    console: Console | None = None,
    progress: bool = True,
    connect_timeout: float = CONNECT_TIMEOUT_S,
    stall_timeout: float = STALL_TIMEOUT_S,
    credentials: ClientCredentials = PLAINTEXT,
) -> RunResult:
    """Screen every traveller in order on one ``ScreenManifest`` stream."""
    check_training(travellers)
    channel = connect(target, connect_timeout, credentials)
    try:
        stub = pb_grpc.ScreeningServiceStub(channel)
        return _stream(travellers, stub, console, progress, stall_timeout, officer_of(credentials))
    finally:
        channel.close()


def _stream(
    travellers: Sequence[GeneratedTraveller],
    stub: pb_grpc.ScreeningServiceStub,
    console: Console | None,
    show_progress: bool,
    stall_timeout: float,
    officer: str = EXERCISE_OFFICER,
) -> RunResult:
    gate = _DecisionGate()
    sent_at: list[float] = [0.0] * len(travellers)
    decisions_before = _decisions_before(travellers)

    def requests() -> Iterator[pb.ScreenManifestRequest]:
        for i, item in enumerate(travellers):
            if not gate.wait_for(decisions_before[i]):
                return
            sent_at[i] = time.perf_counter()
            yield pb.ScreenManifestRequest(screening=item.screening)

    results: list[ItemResult] = []
    not_evaluable: dict[str, str] = {}
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=not show_progress) as bar:
        task = bar.add_task("Screening (training mode)", total=len(travellers))
        call = stub.ScreenManifest(requests())
        watchdog = _Watchdog(call, stall_timeout)
        previous = 0.0
        try:
            for i, response in enumerate(call):
                if i >= len(travellers):
                    raise ExerciseError("the server answered more screenings than were sent")
                # The stream is pipelined: an answer may wait behind earlier ones, so a
                # screening's latency starts when it was sent or when the previous answer
                # arrived, whichever is later. Queueing is not the service's time.
                received = time.perf_counter()
                latency = (received - max(sent_at[i], previous)) * 1000.0
                previous = received
                watchdog.poke()
                item = travellers[i]
                result = _result(i, item, response, latency)
                results.append(result)
                if item.truth.decision:
                    reason = _settle_decision(stub, result, officer)
                    if reason:
                        not_evaluable.setdefault(item.truth.case, reason)
                    gate.settle()
                bar.advance(task)
        except grpc.RpcError as exc:
            cause = (
                f"no answer from the service for {stall_timeout:.0f} s"
                if watchdog.fired
                else f"{exc.code().name}: {exc.details()}"
            )
            raise ExerciseError(
                f"the ScreenManifest stream broke after {len(results)} of {len(travellers)} "
                f"screenings: {cause}"
            ) from exc
        finally:
            watchdog.stop()
            gate.close()
            call.cancel()
    if len(results) != len(travellers):
        raise ExerciseError(f"the server answered {len(results)} of {len(travellers)} screenings")
    return RunResult(results=results, not_evaluable=not_evaluable)


class _Watchdog:
    """Cancels the stream when no answer arrives for ``timeout`` seconds."""

    def __init__(self, call: Any, timeout: float) -> None:
        self._call = call
        self._timeout = timeout
        self._last = time.monotonic()
        self._done = threading.Event()
        self.fired = False
        threading.Thread(target=self._watch, name="exercise-watchdog", daemon=True).start()

    def poke(self) -> None:
        self._last = time.monotonic()

    def stop(self) -> None:
        self._done.set()

    def _watch(self) -> None:
        tick = min(1.0, self._timeout / 4)
        while not self._done.wait(tick):
            if time.monotonic() - self._last > self._timeout:
                self.fired = True
                self._call.cancel()
                return


def _decisions_before(travellers: Sequence[GeneratedTraveller]) -> list[int]:
    counts: list[int] = []
    seen = 0
    for item in travellers:
        counts.append(seen)
        if item.truth.decision:
            seen += 1
    return counts


def _result(
    index: int, item: GeneratedTraveller, response: pb.ScreenManifestResponse, latency: float
) -> ItemResult:
    observed: Observed | None = None
    error = ""
    if response.HasField("assessment"):
        observed = Observed.from_assessment(response.assessment)
    elif response.HasField("error"):
        error = f"{status_name(response.error.code)}: {response.error.message}"
    else:
        error = "the server answered neither an assessment nor an error"
    return ItemResult(
        index=index,
        request_id=item.screening.request_id,
        passport=mask_number(item.screening.traveller.passport_number),
        truth=item.truth,
        observed=observed,
        error=error,
        latency_ms=latency,
    )


def _settle_decision(stub: pb_grpc.ScreeningServiceStub, result: ItemResult, officer: str) -> str:
    if result.observed is None:
        return f"the earlier attempt was rejected ({result.error}), so no decision exists"
    return record_decision(
        stub, result.observed.assessment_id, result.truth.decision, officer=officer
    )
