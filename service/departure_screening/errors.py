"""Domain errors. The API layer maps each to one gRPC status code."""

from __future__ import annotations

from collections.abc import Sequence

from departure_screening.domain import FieldViolation


class ScreeningError(Exception):
    """Base of every error the service reports to a caller."""


class InvalidArgument(ScreeningError):
    def __init__(self, violations: Sequence[FieldViolation]) -> None:
        self.violations = tuple(violations)
        fields = ", ".join(v.field for v in self.violations)
        super().__init__(f"invalid request: {fields}")


class AlreadyExists(ScreeningError):
    pass


class NotFound(ScreeningError):
    pass


class StoreUnavailable(ScreeningError):
    pass


class Overloaded(ScreeningError):
    """More callers than the commit queue holds: refused at once, nothing done."""

    def __init__(self, message: str, limit: int, retry_after: float) -> None:
        super().__init__(message)
        self.limit = limit
        self.retry_after = retry_after


class DeadlineExpired(ScreeningError):
    """The caller's deadline passed before its work began: nothing done."""


class Refused(Exception):
    """A call refused by access control part way through a stream: its status is already
    decided and counted by whoever raised it."""
