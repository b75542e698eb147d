"""A supervisor's console that resumes: after every broken stream it reconnects (to the
replicas in turn) with the last ``alert_id`` it saw."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

import grpc
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc


class ResumingConsole:
    def __init__(self, stubs: Callable[[], list[pb_grpc.ScreeningServiceStub]]) -> None:
        self._stubs = stubs
        self._lock = threading.Lock()
        self.received: list[str] = []  # alert ids, in the order they arrived
        self.reconnects = 0
        self.ended_by: collections.Counter[str] = collections.Counter()
        self._stop = threading.Event()
        self._call: grpc.Call | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="soak-console")

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        turn = 0
        while not self._stop.is_set():
            stubs = self._stubs()
            stub = stubs[turn % len(stubs)]
            turn += 1
            with self._lock:
                last = self.received[-1] if self.received else "0"
            request = pb.WatchAlertsRequest(
                checkpoint="CGK", mode=pb.MODE_LIVE, after_alert_id=last
            )
            try:
                self._call = stub.WatchAlerts(request)
                for response in self._call:
                    with self._lock:
                        self.received.append(response.alert.alert_id)
                self.ended_by["OK"] += 1
            except grpc.RpcError as error:
                self.ended_by[error.code().name] += 1
            if not self._stop.is_set():
                self.reconnects += 1
                time.sleep(0.2)

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self.received)

    def stop(self) -> None:
        self._stop.set()
        if self._call is not None:
            self._call.cancel()
        self._thread.join(10)
