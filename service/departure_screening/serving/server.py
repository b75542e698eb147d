"""The gRPC server: the screening service, health, reflection and /metrics.

Health is SERVING for "" and the service name while rules and store are ready:
a store that cannot be reached, at start or later, makes it NOT_SERVING until
the store is back (checked every HEALTH_CHECK_INTERVAL seconds).

``RunningServer.stop`` shuts down in three steps: health becomes NOT_SERVING for
good; for ``drain_seconds`` the server still takes and answers calls while load
balancers and clients' health checks notice and send elsewhere; then it stops
taking calls and gives those in flight ``grace_seconds`` to finish.

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

from departure_screening.api.validation import MAX_REQUEST_BYTES
from departure_screening.serving.app import App
from departure_screening.serving.config import ServeConfig
from departure_screening.serving.metrics_http import start_metrics_http
from departure_screening.serving.short_calls import ShortCallGate
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ScreeningService"].full_name
# Short calls beyond the free threads wait for one, up to this many per short-call
# thread; past that a call gets RESOURCE_EXHAUSTED at once (see short_calls.py).
QUEUED_PER_WORKER = 4
# Threads beside the stream slots for health checks and reflection.
OTHER_CALL_THREADS = 4
# HTTP/2 streams (calls) open at once on one client connection. Above what the gate
# admits, so that the gate refuses with RESOURCE_EXHAUSTED: at 100, a loaded server
# reset new streams (REFUSED_STREAM, UNAVAILABLE to the client) before Python saw them.
MAX_STREAMS_PER_CONNECTION = 1000
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
    short_calls: ShortCallGate | None = None

    def stop(self, grace: float | None = None, drain: float | None = None) -> None:
        """NOT_SERVING, serve on for ``drain`` seconds, then stop with ``grace``."""
        grace = self.app.config.grace_seconds if grace is None else grace
        drain = self.app.config.drain_seconds if drain is None else drain
        self._stop_watch.set()
        # NOT_SERVING for every service, and no later change back.
        self.health.enter_graceful_shutdown()
        if drain > 0:
            log.info("NOT_SERVING; draining for %g s before stopping", drain)
            threading.Event().wait(drain)
        self.grpc_server.stop(grace).wait()
        if self.short_calls is not None:
            self.short_calls.shutdown()
        if self._probe_server is not None:  # answered NOT_SERVING through the drain
            self._probe_server.stop(0)
        if self._metrics_http is not None:
            self._metrics_http.shutdown()
        self.app.close()

    def wait(self) -> None:
        self.grpc_server.wait_for_termination()


def serve(app: App, *, worker: bool = False) -> RunningServer:
    """Start serving; ``worker`` for one of several processes sharing the port."""
    config = app.config
    access = app.access
    # Every open stream holds a thread for its whole life: the default pool has one
    # for each stream slot (the servicer refuses streams past them) and a few for
    # health; the service's short calls have ``workers`` threads of their own, so
    # watchers and manifests never take the threads that short calls need.
    threads = config.max_watchers + config.max_manifest_streams + OTHER_CALL_THREADS
    short_calls = ShortCallGate(
        SERVICE_NAME,
        workers=config.workers,
        queued=QUEUED_PER_WORKER * config.workers,
        max_wait=config.max_call_wait_ms / 1000,
        metrics=app.metrics,
    )
    # The gate first: a call it refuses costs no access check.
    interceptors: list[grpc.ServerInterceptor] = [short_calls]
    if access.interceptor:
        interceptors.append(access.interceptor)
    server = grpc.server(
        # Threads are started as calls need them, so idle slots cost nothing.
        futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="grpc"),
        interceptors=interceptors,
        options=server_options(config, worker),
        # gRPC's own bound, past the gate's (whose refusals are calls too): only a
        # flood of health checks or refused streams reaches it.
        maximum_concurrent_rpcs=threads + 2 * short_calls.most,
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
        short_calls=short_calls,
    )
    ok = app.store_ok()
    _set_health(health_servicer, ok)
    threading.Thread(
        target=_watch_store,
        args=(app, health_servicer, stop_watch, ok),
        daemon=True,
        name="health",
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


def server_options(config: ServeConfig, worker: bool) -> list[tuple[str, int]]:
    """gRPC's channel arguments for the server, each chosen on purpose (see the README)."""
    return [
        # Off for a single process, so a second server on the same port fails to start
        # instead of silently taking half the connections.
        ("grpc.so_reuseport", 1 if worker else 0),
        ("grpc.max_receive_message_length", MAX_REQUEST_BYTES),
        # The receive window stays at HTTP/2's 64 KiB per stream instead of growing
        # with the measured bandwidth: with the manifest's bounded read-ahead, a
        # fast sender is held back after about a window's worth of requests.
        ("grpc.http2.bdp_probe", 0),
        # Connections are closed after a while (gRPC adds ±10 % jitter), so that
        # clients reconnect and spread over processes and replicas that started
        # after them; calls in flight get the grace period, and a console's
        # WatchAlerts resumes with after_alert_id.
        ("grpc.max_connection_age_ms", _ms(config.max_connection_age_seconds)),
        ("grpc.max_connection_age_grace_ms", _ms(config.max_connection_age_grace_seconds)),
        # Dead peers are found: a ping after 60 s without traffic, 20 s to answer.
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
        # Clients may keep an idle connection alive with pings (a console between
        # alerts), but not more often than every 10 s; two pings too early close it.
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
        ("grpc.http2.max_ping_strikes", 2),
        # Calls at once on one connection; the short-call gate bounds them first.
        ("grpc.max_concurrent_streams", MAX_STREAMS_PER_CONNECTION),
    ]


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _start_metrics_http(app: App) -> Any:
    return start_metrics_http(app.config, app.metrics.registry)


def _set_health(servicer: health.HealthServicer, ok: bool) -> None:
    status = (
        health_pb2.HealthCheckResponse.SERVING if ok else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    for name in ("", SERVICE_NAME):
        servicer.set(name, status)


def _watch_store(
    app: App, servicer: health.HealthServicer, stop: threading.Event, last: bool
) -> None:
    """NOT_SERVING while the store is unreachable; SERVING again when it is back.

    ``last`` is the status set at start, which may already be NOT_SERVING.
    """
    while not stop.wait(HEALTH_CHECK_INTERVAL):
        ok = app.store_ok()
        if ok != last and not stop.is_set():
            log.warning("store %s", "reachable again" if ok else "unreachable")
            _set_health(servicer, ok)
            last = ok
