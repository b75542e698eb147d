"""The gRPC server: the screening service, health, reflection and /metrics.

Health is SERVING for "" and the service name once rules and store are ready.
Shutdown marks NOT_SERVING first (load balancers stop sending), then stops with
a grace period so calls in flight finish.

A worker of ``depscreen serve --processes N`` (see supervisor.py) binds the same
port as its siblings with SO_REUSEPORT, so the kernel spreads connections over
them, and leaves /metrics to the supervisor.
"""

from __future__ import annotations

import logging
import threading
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from departure_screening.serving.app import App
from departure_screening.serving.config import ServeConfig
from departure_screening.serving.metrics_http import start_metrics_http
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ScreeningService"].full_name
# Seconds between store checks that drive the health status.
HEALTH_CHECK_INTERVAL = 1.0


@dataclass
class RunningServer:
    app: App
    grpc_server: grpc.Server
    health: health.HealthServicer
    port: int
    metrics_port: int  # 0 in a worker: the supervisor serves /metrics
    _metrics_http: Any  # None in a worker
    _stop_watch: threading.Event
    probe_port: int = 0  # 0 when there is no probe server
    _probe_server: grpc.Server | None = None

    def stop(self, grace: float | None = None) -> None:
        grace = self.app.config.grace_seconds if grace is None else grace
        self._stop_watch.set()
        self.health.enter_graceful_shutdown()
        if self._probe_server is not None:
            self._probe_server.stop(0)
        self.grpc_server.stop(grace).wait()
        if self._metrics_http is not None:
            self._metrics_http.shutdown()
        self.app.close()

    def wait(self) -> None:
        self.grpc_server.wait_for_termination()


def serve(app: App, *, worker: bool = False) -> RunningServer:
    """Start serving; ``worker`` for one of several processes sharing the port."""
    config = app.config
    access = app.access
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="grpc"),
        interceptors=[access.interceptor] if access.interceptor else None,
        # Off for a single process, so a second server on the same port fails to start
        # instead of silently taking half the connections.
        options=[
            ("grpc.so_reuseport", 1 if worker else 0),
            *access.server_options,
            *_connection_age(config),
        ],
    )
    pb_grpc.add_ScreeningServiceServicer_to_server(app.servicer, server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    if access.credentials is None:
        port = server.add_insecure_port(config.listen)
    else:
        port = server.add_secure_port(config.listen, access.credentials)
    if port == 0:
        raise OSError(f"cannot listen on {config.listen}")
    # Over mTLS, probes that cannot present a certificate get health alone, in plaintext.
    probe = _probe_server(config, health_servicer, worker) if access.credentials else None
    metrics_http = None if worker else _start_metrics_http(app)
    server.start()
    if probe is not None:
        probe[0].start()
    stop_watch = threading.Event()
    running = RunningServer(
        app=app,
        grpc_server=server,
        health=health_servicer,
        port=port,
        metrics_port=0 if metrics_http is None else metrics_http.server_port,
        _metrics_http=metrics_http,
        _stop_watch=stop_watch,
        probe_port=probe[1] if probe else 0,
        _probe_server=probe[0] if probe else None,
    )
    _set_health(health_servicer, app.store_ok())
    threading.Thread(
        target=_watch_store, args=(app, health_servicer, stop_watch), daemon=True, name="health"
    ).start()
    if worker:
        log.info("serving %s on port %d, ruleset %s", SERVICE_NAME, port, app.ruleset.version)
    else:
        log.info(
            "serving %s on port %d, metrics on port %d, ruleset %s",
            SERVICE_NAME,
            port,
            running.metrics_port,
            app.ruleset.version,
        )
    return running


def _probe_server(
    config: ServeConfig, servicer: health.HealthServicer, worker: bool
) -> tuple[grpc.Server, int] | None:
    if not config.access.probe_listen:
        return None
    probe = grpc.server(
        futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="probe"),
        options=[("grpc.so_reuseport", 1 if worker else 0)],
    )
    health_pb2_grpc.add_HealthServicer_to_server(servicer, probe)
    port = probe.add_insecure_port(config.access.probe_listen)
    if port == 0:
        raise OSError(f"cannot listen on {config.access.probe_listen}")
    return probe, port


def _connection_age(config: ServeConfig) -> list[tuple[str, int]]:
    """gRPC's GOAWAY after ``max_connection_age``: clients reconnect and rebalance."""
    if config.max_connection_age <= 0:
        return []
    return [
        ("grpc.max_connection_age_ms", int(config.max_connection_age * 1000)),
        # Calls in flight on an aged connection get the shutdown grace to finish.
        ("grpc.max_connection_age_grace_ms", int(config.grace_seconds * 1000)),
    ]


def _start_metrics_http(app: App) -> Any:
    return start_metrics_http(app.config, app.metrics.registry)


def _set_health(servicer: health.HealthServicer, ok: bool) -> None:
    status = (
        health_pb2.HealthCheckResponse.SERVING if ok else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    for name in ("", SERVICE_NAME):
        servicer.set(name, status)


def _watch_store(app: App, servicer: health.HealthServicer, stop: threading.Event) -> None:
    """NOT_SERVING while the store is unreachable; SERVING again when it is back."""
    last = True
    while not stop.wait(HEALTH_CHECK_INTERVAL):
        ok = app.store_ok()
        if ok != last and not stop.is_set():
            log.warning("store %s", "reachable again" if ok else "unreachable")
            _set_health(servicer, ok)
            last = ok
