"""Fuzz target: raw bytes into the request path of ``Screen`` and ``ScreenManifest``.

bytes → ``ScreenRequest`` (protobuf) → validation → proto-to-domain conversion →
evaluation and the save in the in-memory store, on the objects the composition
root builds (``build_app`` with ``memory:``), in process. A refusal must be a
domain error whose status is one a caller may get for its own input; anything
else escaping is a crash. The same request sent again, as a manifest item, must
be answered with the same assessment (a replay).
"""

from __future__ import annotations

from departure_screening.api.status import status_for
from departure_screening.errors import ScreeningError
from departure_screening.serving.app import App, build_app
from departure_screening.serving.config import ServeConfig
from departure_screening.v1 import screening_pb2 as pb
from google.protobuf.message import DecodeError
from google.rpc import code_pb2
from prometheus_client import CollectorRegistry

from .harness import rss_bytes

NAME = "request_path"
# The in-memory store keeps every screening; a fresh composition root every so many
# inputs keeps a long run's memory bounded, while inputs in between still meet
# history (replays, reused request ids, groups).
INPUTS_PER_APP = 2000
# Resident memory may grow this much over the first fresh app: more is a leak.
RSS_GROWTH_LIMIT = 256 * 1024 * 1024
# What a caller's own bytes may earn: a bad field, or a request id reused for other content.
CALLER_CODES = frozenset({code_pb2.INVALID_ARGUMENT, code_pb2.ALREADY_EXISTS})


class MemoryLeak(AssertionError):
    pass


class _Apps:
    def __init__(self) -> None:
        self.app: App | None = None
        self.inputs = 0
        self.baseline_rss = 0

    def current(self) -> App:
        if self.app is None or self.inputs >= INPUTS_PER_APP:
            if self.app is not None:
                self.app.close()
            self.app = None
            rss = rss_bytes()
            if not self.baseline_rss:
                self.baseline_rss = rss
            elif rss - self.baseline_rss > RSS_GROWTH_LIMIT:
                raise MemoryLeak(f"RSS grew {(rss - self.baseline_rss) >> 20} MiB over fresh apps")
            config = ServeConfig(
                listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", store="memory:"
            )
            self.app = build_app(config, CollectorRegistry())
            self.inputs = 0
        self.inputs += 1
        return self.app


_apps = _Apps()


def _check_refusal(error: ScreeningError) -> None:
    status = status_for(error)
    if status.code not in CALLER_CODES:
        raise AssertionError(f"refused with {code_pb2.Code.Name(status.code)}: {error}") from error


def TestOneInput(data: bytes) -> None:
    try:
        request = pb.ScreenRequest.FromString(data)
    except DecodeError:
        return  # not a message at all: gRPC refuses it before the servicer sees it
    servicer = _apps.current().servicer
    try:
        assessment = servicer._screen_one(request, None)
    except ScreeningError as error:
        _check_refusal(error)
        return
    assessment.SerializeToString()  # the answer goes back on the wire
    (again,) = servicer._screen_chunk([pb.ScreenManifestRequest(screening=request.screening)], None)
    if again.HasField("error") or again.assessment != assessment:
        raise AssertionError(f"the same request again was not a replay: {again}")
