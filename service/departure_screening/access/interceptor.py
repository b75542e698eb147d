"""Enforcement in one place: a server interceptor that checks every call before any work.

It wraps each method handler in one of the same streaming shape. Identity first (device
certificate, then officer token), then the policy on what the request names: the screening's
checkpoint and mode, each manifest item as it arrives, the watched checkpoint, or the
assessment a ``GetAssessment``/``RecordDecision`` names (looked up first; one the caller may
not see is ``NOT_FOUND``, exactly as one that does not exist).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc
from grpc_status import rpc_status

from departure_screening.access.identity import Device, IdentityError, device_from_pem
from departure_screening.access.policy import Policy, Reason, Request
from departure_screening.access.token_cache import VerifiedTokens
from departure_screening.access.tokens import (
    Officer,
    SigningKeys,
    TokenError,
    TokenRules,
    bearer_token,
)
from departure_screening.access.watched import WatchedFile
from departure_screening.api.caller import current_principal
from departure_screening.api.status import status_for
from departure_screening.domain import Principal
from departure_screening.errors import NotFound, Refused, ScreeningError
from departure_screening.metrics import Metrics
from departure_screening.v1 import screening_pb2 as pb

log = logging.getLogger("departure_screening.access")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ScreeningService"].full_name
MODES = {pb.MODE_LIVE: "live", pb.MODE_TRAINING: "training"}
STORED_MODES = {"MODE_LIVE": "live", "MODE_TRAINING": "training"}
# The assessment an id names, as (checkpoint, stored mode name); None when there is none.
ScopeLookup = Callable[[str], tuple[str, str] | None]

_CODES = {
    Reason.BAD_CERTIFICATE: grpc.StatusCode.UNAUTHENTICATED,
    Reason.BAD_TOKEN: grpc.StatusCode.UNAUTHENTICATED,
    Reason.TOKEN_REQUIRED: grpc.StatusCode.UNAUTHENTICATED,
    Reason.TOKEN_EXPIRED: grpc.StatusCode.UNAUTHENTICATED,
}
_MESSAGES = {
    Reason.BAD_CERTIFICATE: "the client certificate names no device of this service",
    Reason.BAD_TOKEN: "the officer token is refused",
    Reason.TOKEN_REQUIRED: "an officer token is required",
    Reason.TOKEN_EXPIRED: "the officer token has expired",
    Reason.ROLE_NOT_ALLOWED: "this role may not call this method",
    Reason.OTHER_CHECKPOINT: "the request names another checkpoint",
    Reason.TRAINING_ONLY: "this role may act in training mode only",
    Reason.OFFICER_MISMATCH: "officer_id differs from the officer token's subject",
}


@dataclass(frozen=True)
class Caller:
    device: Device
    officer: Officer | None


class _Refusal(Refused):
    def __init__(self, reason: Reason, hidden_assessment: str | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        # Set when the answer must be the one for an assessment that does not exist.
        self.hidden_assessment = hidden_assessment
        self.code = (
            grpc.StatusCode.NOT_FOUND
            if hidden_assessment is not None
            else _CODES.get(reason, grpc.StatusCode.PERMISSION_DENIED)
        )


class AccessInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    def __init__(
        self,
        *,
        policy: WatchedFile[Policy],
        signing_keys: WatchedFile[SigningKeys] | None,
        token_rules: TokenRules | None,
        trust_domain: str,
        checkpoints: Collection[str],
        find_scope: ScopeLookup,
        metrics: Metrics,
    ) -> None:
        self._policy = policy
        self._keys = signing_keys
        self._token_rules = token_rules
        self._trust_domain = trust_domain
        self._checkpoints = frozenset(checkpoints)
        self._find_scope = find_scope
        self._metrics = metrics
        # Devices reconnect with the same certificate: parse each one once.
        self._device_of = functools.lru_cache(maxsize=4096)(self._parse_device)
        # ... and send the same officer token with every call of a shift: check it once.
        self._tokens = VerifiedTokens()

    # -- the handler wrappers -------------------------------------------------

    def intercept_service(
        self, continuation: Callable[[Any], Any], details: grpc.HandlerCallDetails
    ) -> Any:
        handler = continuation(details)
        if handler is None:
            return None
        service, _, method = details.method.lstrip("/").partition("/")
        if service != SERVICE_NAME:
            return self._identified_only(handler, method)
        if method == "ScreenManifest":
            return self._manifest(handler)
        if method == "WatchAlerts":
            return self._watch(handler)
        return self._unary(handler, method)

    def _identified_only(self, handler: Any, method: str) -> Any:
        """Health and reflection: any valid device certificate."""
        if handler.unary_unary:
            inner_uu = handler.unary_unary

            def unary_unary(request: Any, context: grpc.ServicerContext) -> Any:
                self._admit_caller(method, context, counted=False)
                return inner_uu(request, context)

            return _replace(handler, unary_unary=unary_unary)
        if handler.unary_stream:
            inner_us = handler.unary_stream

            def unary_stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                self._admit_caller(method, context, counted=False)
                yield from inner_us(request, context)

            return _replace(handler, unary_stream=unary_stream)
        inner_ss = handler.stream_stream or handler.stream_unary
        kind = "stream_stream" if handler.stream_stream else "stream_unary"
        if kind == "stream_stream":

            def stream_stream(requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
                self._admit_caller(method, context, counted=False)
                yield from inner_ss(requests, context)

            return _replace(handler, stream_stream=stream_stream)

        def stream_unary(requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
            self._admit_caller(method, context, counted=False)
            return inner_ss(requests, context)

        return _replace(handler, stream_unary=stream_unary)

    def _unary(self, handler: Any, method: str) -> Any:
        inner = handler.unary_unary

        def unary_unary(request: Any, context: grpc.ServicerContext) -> Any:
            caller = self._admit_caller(method, context)
            try:
                request = self._admit_unary(method, request, caller)
            except _Refusal as refusal:
                self._refuse(method, caller.device, refusal, context)
            return inner(request, context)

        return _replace(handler, unary_unary=unary_unary)

    def _manifest(self, handler: Any) -> Any:
        inner = handler.stream_stream
        method = "ScreenManifest"

        def stream_stream(
            requests: Iterator[pb.ScreenManifestRequest], context: grpc.ServicerContext
        ) -> Iterator[pb.ScreenManifestResponse]:
            caller = self._admit_caller(method, context)
            if not self._policy.current().allows_role(method, caller.device.role):
                self._refuse(method, caller.device, _Refusal(Reason.ROLE_NOT_ALLOWED), context)
            try:
                yield from inner(self._admitted_items(requests, caller), context)
            except _Refusal as refusal:
                # Raised by an item on the servicer's reading thread: nothing of that item
                # reached the screener, and nothing after it will.
                self._refuse(method, caller.device, refusal, context)

        return _replace(handler, stream_stream=stream_stream)

    def _admitted_items(
        self, requests: Iterator[pb.ScreenManifestRequest], caller: Caller
    ) -> Iterator[pb.ScreenManifestRequest]:
        for request in requests:
            screening = self._admit_screening("ScreenManifest", request.screening, caller)
            if screening is not request.screening:
                request = pb.ScreenManifestRequest(screening=screening)
            yield request

    def _watch(self, handler: Any) -> Any:
        inner = handler.unary_stream
        method = "WatchAlerts"

        def unary_stream(
            request: pb.WatchAlertsRequest, context: grpc.ServicerContext
        ) -> Iterator[pb.WatchAlertsResponse]:
            caller = self._admit_caller(method, context)
            try:
                self._decide(method, caller, request.checkpoint, MODES.get(request.mode))
            except _Refusal as refusal:
                self._refuse(method, caller.device, refusal, context)
            if caller.officer is None:
                yield from inner(request, context)
                return
            watched = _UntilExpiry(context, caller.officer.expires_at)
            yield from inner(request, watched)
            if watched.expired():
                # The servicer has counted the stream's end already (as CANCELLED).
                expired = _Refusal(Reason.TOKEN_EXPIRED)
                self._refuse(method, caller.device, expired, context, counted=False)

        return _replace(handler, unary_stream=unary_stream)

    # -- the checks -------------------------------------------------------------

    def _admit_caller(
        self, method: str, context: grpc.ServicerContext, *, counted: bool = True
    ) -> Caller:
        """The device and officer of a call, or the call ends ``UNAUTHENTICATED``."""
        pems = context.auth_context().get("x509_pem_cert") or []
        try:
            if len(pems) != 1:
                raise IdentityError("no client certificate")
            device = self._device_of(bytes(pems[0]))
        except IdentityError:
            self._refuse(method, None, _Refusal(Reason.BAD_CERTIFICATE), context, counted)
        token = bearer_token(context.invocation_metadata())
        if token is None:
            return _entered(Caller(device, None))
        try:
            if self._keys is None or self._token_rules is None:
                raise TokenError("officer tokens are not configured")
            officer = self._tokens.verify(token, self._keys.current(), self._token_rules, device)
        except TokenError as error:
            log.info("officer token refused: %s", error)
            self._refuse(method, device, _Refusal(Reason.BAD_TOKEN), context, counted)
        return _entered(Caller(device, officer))

    def _parse_device(self, pem: bytes) -> Device:
        return device_from_pem(pem, self._trust_domain, self._checkpoints)

    def _admit_unary(self, method: str, request: Any, caller: Caller) -> Any:
        """The request to run (officer_id set to the token's subject), or ``_Refusal``."""
        if method == "Screen":
            screening = self._admit_screening(method, request.screening, caller)
            return (
                request if screening is request.screening else pb.ScreenRequest(screening=screening)
            )
        if method in ("GetAssessment", "RecordDecision"):
            if not self._policy.current().allows_role(method, caller.device.role):
                raise _Refusal(Reason.ROLE_NOT_ALLOWED)
            if method == "RecordDecision":
                request = self._with_officer(request, caller)
            scope = self._scope(request.assessment_id)
            if scope is not None:
                try:
                    self._decide(method, caller, scope[0], STORED_MODES.get(scope[1]))
                except _Refusal as refusal:
                    if refusal.reason in (Reason.OTHER_CHECKPOINT, Reason.TRAINING_ONLY):
                        # Existence must not leak: the same answer as for a missing id.
                        raise _Refusal(refusal.reason, request.assessment_id) from None
                    raise
            return request
        self._decide(method, caller, None, None)
        return request

    def _admit_screening(self, method: str, screening: pb.Screening, caller: Caller) -> Any:
        self._decide(method, caller, screening.checkpoint, MODES.get(screening.mode))
        return self._with_officer(screening, caller)

    def _with_officer(self, message: Any, caller: Caller) -> Any:
        """With a token, ``officer_id`` must be empty or its subject; the subject is stored."""
        if caller.officer is None:
            return message
        sub = caller.officer.officer_id
        if message.officer_id not in ("", sub):
            raise _Refusal(Reason.OFFICER_MISMATCH)
        if message.officer_id == sub:
            return message
        copy = type(message)()
        copy.CopyFrom(message)
        copy.officer_id = sub
        return copy

    def _decide(
        self, method: str, caller: Caller, checkpoint: str | None, mode: str | None
    ) -> None:
        reason = self._policy.current().decide(
            Request(
                rpc=method,
                role=caller.device.role,
                device_checkpoint=caller.device.checkpoint,
                has_officer=caller.officer is not None,
                checkpoint=checkpoint,
                mode=mode,
            )
        )
        if reason is not None:
            raise _Refusal(reason)

    def _scope(self, assessment_id: str) -> tuple[str, str] | None:
        try:
            return self._find_scope(assessment_id)
        except ScreeningError:
            return None  # missing, malformed or unreachable: the servicer answers as usual

    def _refuse(
        self,
        method: str,
        device: Device | None,
        refusal: _Refusal,
        context: grpc.ServicerContext,
        counted: bool = True,
    ) -> NoReturn:
        """Count, log (no personal data) and end the call with the refusal's status."""
        role = device.role if device else "unknown"
        self._metrics.access_denied.labels(method, role, refusal.reason.value).inc()
        if counted:
            self._metrics.rpc_requests.labels(method, refusal.code.name).inc()
        log.warning(
            "access denied method=%s role=%s device=%s reason=%s code=%s peer=%s",
            method,
            role,
            device.spiffe_id if device else "-",
            refusal.reason.value,
            refusal.code.name,
            context.peer(),
        )
        if refusal.hidden_assessment is not None:
            missing = NotFound(f"no assessment {refusal.hidden_assessment!r}")
            context.abort_with_status(rpc_status.to_status(status_for(missing)))
        context.abort(refusal.code, _MESSAGES[refusal.reason])
        raise AssertionError("abort returns only by raising")


def _entered(caller: Caller) -> Caller:
    """Make ``caller`` the principal of the call running on this thread.

    Set afresh at the start of every call, never reset: a pool thread's previous call can
    leave nothing behind that the next one would see.
    """
    officer = caller.officer.officer_id if caller.officer else ""
    current_principal.set(Principal(device=caller.device.spiffe_id, officer=officer))
    return caller


class _UntilExpiry:
    """The call's context, inactive once the officer token expires (ends a watch loop)."""

    def __init__(self, context: grpc.ServicerContext, expires_at: float) -> None:
        self._context = context
        self._expires_at = expires_at

    def expired(self) -> bool:
        return time.time() >= self._expires_at

    def is_active(self) -> bool:
        return not self.expired() and bool(self._context.is_active())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


_CONSTRUCTORS = {
    "unary_unary": grpc.unary_unary_rpc_method_handler,
    "unary_stream": grpc.unary_stream_rpc_method_handler,
    "stream_unary": grpc.stream_unary_rpc_method_handler,
    "stream_stream": grpc.stream_stream_rpc_method_handler,
}


def _replace(handler: Any, **behaviour: Any) -> Any:
    """A handler of the same shape and (de)serializers with the behaviour replaced."""
    ((shape, function),) = behaviour.items()
    return _CONSTRUCTORS[shape](
        function,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
