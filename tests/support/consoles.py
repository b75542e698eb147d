"""Supervisors' consoles for tests: group alerts raised on purpose, and a watcher that
keeps what it received and how its stream ended."""

from __future__ import annotations

import itertools
import threading
import time

import grpc
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc

from support.builders import screening

_groups = itertools.count(1)


def group_members(checkpoint: str = "CGK", mode: int = pb.MODE_LIVE) -> list[pb.Screening]:
    """Three travellers with one escort on one flight: the third raises an alert."""
    n = next(_groups)
    group = {
        "checkpoint": checkpoint,
        "mode": mode,
        "trip__escort_passport_number": f"E{n:07d}",
        "trip__flight_number": f"QZ{n % 9000 + 100}",
        "trip__destination_country": "KH",
    }
    return [screening(**group) for _ in range(3)]


def screen_retrying(
    stub: pb_grpc.ScreeningServiceStub, s: pb.Screening, timeout: float = 60.0
) -> pb.Assessment:
    """Screen, retrying with the same request id while the store is unavailable."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return stub.Screen(pb.ScreenRequest(screening=s), timeout=10).assessment
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def raise_alert(
    stub: pb_grpc.ScreeningServiceStub, checkpoint: str = "CGK", mode: int = pb.MODE_LIVE
) -> str:
    """Screens a group until it alerts; the group key the alert names."""
    last = None
    for member in group_members(checkpoint, mode):
        last = screen_retrying(stub, member)
    assert last is not None and last.group.members_screened == 3
    return last.group.group_key


class Console:
    """One ``WatchAlerts`` stream read on a thread of its own."""

    def __init__(
        self,
        stub: pb_grpc.ScreeningServiceStub,
        *,
        after_alert_id: str = "",
        checkpoint: str = "CGK",
        mode: int = pb.MODE_LIVE,
        read_delay: float = 0.0,
    ) -> None:
        self.alerts: list[pb.Alert] = []
        self.ended: grpc.StatusCode | None = None
        self._changed = threading.Condition()
        self._read_delay = read_delay
        self.call = stub.WatchAlerts(
            pb.WatchAlertsRequest(checkpoint=checkpoint, mode=mode, after_alert_id=after_alert_id),
            timeout=120,
        )
        # Sent once the subscription is live on the server.
        assert ("x-depscreen-watching", "1") in (self.call.initial_metadata() or ())
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for response in self.call:
                with self._changed:
                    self.alerts.append(response.alert)
                    self._changed.notify_all()
                if self._read_delay:
                    time.sleep(self._read_delay)
            code = grpc.StatusCode.OK
        except grpc.RpcError as error:
            code = error.code()
        with self._changed:
            self.ended = code
            self._changed.notify_all()

    @property
    def last_id(self) -> str:
        with self._changed:
            return self.alerts[-1].alert_id if self.alerts else ""

    def wait_for(self, count: int, timeout: float = 30.0) -> list[pb.Alert]:
        """The alerts once there are ``count`` (fails on fewer, or on the stream ending)."""
        with self._changed:
            ok = self._changed.wait_for(
                lambda: len(self.alerts) >= count or self.ended is not None, timeout
            )
            assert ok and len(self.alerts) >= count, (
                f"{len(self.alerts)} alerts of {count}, stream ended {self.ended}"
            )
            return list(self.alerts)

    def wait_end(self, timeout: float = 30.0) -> grpc.StatusCode:
        with self._changed:
            assert self._changed.wait_for(lambda: self.ended is not None, timeout)
            assert self.ended is not None
            return self.ended

    def close(self) -> list[pb.Alert]:
        self.call.cancel()
        self._thread.join(10)
        return list(self.alerts)
