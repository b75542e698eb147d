"""One log line per call: method, status code, latency, request id and assessment id.

Nothing personal goes in it: no passport or escort number, no name, no booking
reference. Ids are logged only when they have the form the contract gives them,
so a caller cannot write arbitrary text into the log.
"""

from __future__ import annotations

import logging
import time

from departure_screening.api.validation import REQUEST_ID

log = logging.getLogger("departure_screening.access")


def _id(value: str) -> str:
    return value if REQUEST_ID.fullmatch(value) else ""


def log_rpc(
    method: str,
    code: str,
    started: float,
    request_id: str = "",
    assessment_id: str = "",
    items: int | None = None,
) -> None:
    """Log a finished call; ``started`` is its ``time.perf_counter()`` at the start."""
    if not log.isEnabledFor(logging.INFO):
        return
    fields: dict[str, object] = {
        "method": method,
        "code": code,
        "latency_ms": round((time.perf_counter() - started) * 1000, 3),
        "request_id": _id(request_id),
        "assessment_id": _id(assessment_id),
    }
    if items is not None:
        fields["items"] = items
    log.info(
        "%s %s %.3f ms request_id=%s assessment_id=%s",
        method,
        code,
        fields["latency_ms"],
        fields["request_id"] or "-",
        fields["assessment_id"] or "-",
        extra={"rpc": fields},
    )
