"""A TLS gRPC server on loopback that requires client certificates, as the service will.

It serves the standard health service, so the client tools are checked against gRPC's own
TLS stack and not against code of this project's server side.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2_grpc


@dataclass
class Seen:
    """What reached the server: each call's method, metadata and the peer's auth context."""

    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    requests: list[Any] = field(default_factory=list)  # of unary calls
    peers: list[dict[str, list[bytes]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Recorder(grpc.ServerInterceptor):  # type: ignore[misc]
    def __init__(self, seen: Seen) -> None:
        self._seen = seen

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        with self._seen.lock:
            self._seen.calls.append((details.method, dict(details.invocation_metadata)))
        handler = continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary
        seen = self._seen

        def recorded(request: Any, context: Any) -> Any:
            with seen.lock:
                seen.requests.append(request)
            return inner(request, context)

        return grpc.unary_unary_rpc_method_handler(
            recorded,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class _Health(health.HealthServicer):  # type: ignore[misc]
    def __init__(self, seen: Seen) -> None:
        super().__init__()
        self._seen = seen

    def Check(self, request: Any, context: Any) -> Any:
        with self._seen.lock:
            self._seen.peers.append(dict(context.auth_context()))
        return super().Check(request, context)


@dataclass
class TlsServer:
    target: str
    seen: Seen


@contextmanager
def tls_server(
    pki: Path, register: Callable[[grpc.Server], None] | None = None
) -> Iterator[TlsServer]:
    """Serve health (and whatever ``register`` adds) with mutual TLS on a free loopback port."""
    seen = Seen()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), interceptors=[_Recorder(seen)])
    health_pb2_grpc.add_HealthServicer_to_server(_Health(seen), server)
    if register is not None:
        register(server)
    credentials = grpc.ssl_server_credentials(
        [((pki / "server.key").read_bytes(), (pki / "server.pem").read_bytes())],
        root_certificates=(pki / "ca.pem").read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        yield TlsServer(f"127.0.0.1:{port}", seen)
    finally:
        server.stop(0)
