"""Domain errors as ``google.rpc.Status`` with rich details."""

from __future__ import annotations

from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from departure_screening.errors import (
    AlreadyExists,
    DeadlineExpired,
    InvalidArgument,
    NotFound,
    Overloaded,
    ScreeningError,
    StoreUnavailable,
)

_CODES: list[tuple[type[ScreeningError], int]] = [
    (InvalidArgument, code_pb2.INVALID_ARGUMENT),
    (AlreadyExists, code_pb2.ALREADY_EXISTS),
    (NotFound, code_pb2.NOT_FOUND),
    (StoreUnavailable, code_pb2.UNAVAILABLE),
    (Overloaded, code_pb2.RESOURCE_EXHAUSTED),
    (DeadlineExpired, code_pb2.DEADLINE_EXCEEDED),
]

# ``google.rpc.ErrorInfo`` of a call refused because the commit queue is full.
ERROR_DOMAIN = "departure_screening.v1"
OVERLOADED_REASON = "COMMIT_QUEUE_FULL"


# What a caller learns of a store failure: the driver's own text names hosts, users
# and databases, which are the operator's business (the server's log), not a caller's.
STORE_UNAVAILABLE_MESSAGE = "the store is unavailable; try again later"


def status_for(error: ScreeningError) -> status_pb2.Status:
    code = next((c for kind, c in _CODES if isinstance(error, kind)), code_pb2.INTERNAL)
    message = STORE_UNAVAILABLE_MESSAGE if isinstance(error, StoreUnavailable) else str(error)
    status = status_pb2.Status(code=code, message=message)
    if isinstance(error, InvalidArgument):
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description
                    )
                    for v in error.violations
                ]
            )
        )
        status.details.append(detail)
    if isinstance(error, Overloaded):
        status.details.extend(_overload_details(error))
    return status


def _overload_details(error: Overloaded) -> list[any_pb2.Any]:
    return retry_details(
        OVERLOADED_REASON, error.retry_after, {"max_commit_queue": str(error.limit)}
    )


def retry_details(
    reason: str, retry_after: float, metadata: dict[str, str] | None = None
) -> list[any_pb2.Any]:
    """Why (ErrorInfo) and when to try again (RetryInfo), as gRPC clients read them."""
    info, retry = any_pb2.Any(), any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata))
    delay = duration_pb2.Duration()
    delay.FromMilliseconds(round(retry_after * 1000))
    retry.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    return [info, retry]


def code_name(code: int) -> str:
    return str(code_pb2.Code.Name(code))
