"""Steady load on the replicas, and a ledger of every acknowledged assessment and
decision to check at the end.

Each worker screens at a fixed pace: mostly lone travellers, and every few screenings
a group of three with one escort (the third raises an alert), and records a decision
on some. A call that fails is retried with the same request id on the other replica
until acknowledged; only acknowledged records are in the ledger.
"""

from __future__ import annotations

import collections
import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import grpc
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc
from support.builders import screening

T = TypeVar("T")
# A call given up after this long without an acknowledgement (not in the ledger).
GIVE_UP_SECONDS = 120.0
RETRIED = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.UNKNOWN,
}


@dataclass
class Ledger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    assessments: dict[str, pb.Assessment] = field(default_factory=dict)
    decisions: list[pb.RecordedDecision] = field(default_factory=list)
    alerting_groups: set[str] = field(default_factory=set)
    retries: collections.Counter[str] = field(default_factory=collections.Counter)
    given_up: int = 0
    crashed: list[str] = field(default_factory=list)
    refused: collections.Counter[str] = field(default_factory=collections.Counter)


class LoadWorker:
    def __init__(
        self,
        index: int,
        stubs: Callable[[], list[pb_grpc.ScreeningServiceStub]],
        ledger: Ledger,
        rate: float,
        stop: threading.Event,
    ) -> None:
        self._index = index
        self._stubs = stubs
        self._ledger = ledger
        self._interval = 1.0 / rate
        self._stop = stop
        self._serial = itertools.count(1)
        self._random = random.Random(index)
        self._turn = index
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"soak-load-{index}")

    def _call(self, what: Callable[[pb_grpc.ScreeningServiceStub], T]) -> T | None:
        deadline = time.monotonic() + GIVE_UP_SECONDS
        while True:
            stubs = self._stubs()
            stub = stubs[self._turn % len(stubs)]
            try:
                return what(stub)
            except grpc.RpcError as error:
                code = error.code()
                if code not in RETRIED:
                    with self._ledger.lock:
                        self._ledger.refused[code.name] += 1
                    return None
                with self._ledger.lock:
                    self._ledger.retries[code.name] += 1
                if time.monotonic() > deadline:
                    with self._ledger.lock:
                        self._ledger.given_up += 1
                    return None
                self._turn += 1  # the other replica next
                time.sleep(0.1)

    def _screen(self, s: pb.Screening) -> pb.Assessment | None:
        request = pb.ScreenRequest(screening=s)
        answer = self._call(lambda stub: stub.Screen(request, timeout=10))
        if answer is None:
            return None
        assessment: pb.Assessment = answer.assessment
        with self._ledger.lock:
            self._ledger.assessments[s.request_id] = assessment
        return assessment

    def _decide(self, assessment: pb.Assessment) -> None:
        request = pb.RecordDecisionRequest(
            assessment_id=assessment.assessment_id,
            officer_id="soak-officer",
            decision=self._random.choice([pb.DECISION_CLEARED, pb.DECISION_POSTPONED]),
            note="soak",
            request_id=f"soak-{self._index}-d{next(self._serial)}",
        )
        answer = self._call(lambda stub: stub.RecordDecision(request, timeout=10))
        if answer is not None:
            with self._ledger.lock:
                self._ledger.decisions.append(answer.decision)

    def _lone(self) -> None:
        n = next(self._serial)
        a = self._screen(
            screening(
                request_id=f"soak-{self._index}-{n}",
                traveller__passport_number=f"S{self._index:02d}{n:06d}",
            )
        )
        if a is not None and self._random.random() < 0.3:
            self._decide(a)

    def _group(self) -> None:
        n = next(self._serial)
        escort = f"E{self._index:02d}{n:06d}"
        last = None
        for member in range(3):
            last = self._screen(
                screening(
                    request_id=f"soak-{self._index}-{n}-m{member}",
                    traveller__passport_number=f"G{self._index:02d}{n:05d}{member}",
                    trip__escort_passport_number=escort,
                    trip__flight_number="QZ262",
                    trip__destination_country="KH",
                )
            )
            if last is None:
                return
        if last is not None and last.group.members_screened == 3:
            with self._ledger.lock:
                self._ledger.alerting_groups.add(last.group.group_key)

    def _run(self) -> None:
        try:
            self._paced()
        except Exception as error:  # reported: the soak fails
            with self._ledger.lock:
                self._ledger.crashed.append(f"{type(error).__name__}: {error}")
            raise

    def _paced(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            if self._random.random() < 0.1:
                self._group()
            else:
                self._lone()
            next_at += self._interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_at = time.monotonic()  # fell behind (a fault): no burst to catch up
