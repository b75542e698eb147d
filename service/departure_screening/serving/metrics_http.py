"""/metrics over HTTP, or over TLS with client certificates (``--metrics-tls-*``)."""

from __future__ import annotations

from typing import Any

from prometheus_client import start_http_server

from departure_screening.serving.config import ServeConfig, split_host_port


def start_metrics_http(config: ServeConfig, registry: Any) -> Any:
    """Client certificates are required when ``--metrics-client-ca`` is given."""
    host, port = split_host_port(config.metrics_listen)
    metrics_http, _ = start_http_server(
        port,
        host,
        registry=registry,
        certfile=config.metrics_tls_cert or None,
        keyfile=config.metrics_tls_key or None,
        client_cafile=config.metrics_client_ca or None,
        client_auth_required=bool(config.metrics_client_ca),
    )
    return metrics_http
