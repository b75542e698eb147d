"""Serving modes: refusals at start (exit 2, one line), --insecure, /metrics over TLS."""

from __future__ import annotations

import json
import logging
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from departure_screening.access.control import AccessSettings
from departure_screening.serving.app import build_app
from departure_screening.serving.config import ServeConfig
from departure_screening.serving.server import serve
from support.pki import CertificateAuthority, Pki, write_atomically
from support.servers import free_port


def serve_refused(*flags: str) -> str:
    """Run ``depscreen serve`` expecting a refusal; its one-line reason."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "departure_screening",
            "serve",
            "--store",
            "memory:",
            "--metrics-listen",
            f"127.0.0.1:{free_port()}",
            "--probe-listen",
            f"127.0.0.1:{free_port()}",
            *flags,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_plaintext_on_a_non_loopback_address_is_refused() -> None:
    reason = serve_refused("--listen", f"0.0.0.0:{free_port()}")
    assert "loopback" in reason and "--insecure" in reason


def test_a_tls_certificate_without_a_client_ca_is_refused(fresh_pki: Pki) -> None:
    reason = serve_refused(
        "--listen",
        f"127.0.0.1:{free_port()}",
        "--tls-cert",
        str(fresh_pki.server_cert),
        "--tls-key",
        str(fresh_pki.server_key),
    )
    assert "--tls-client-ca" in reason


def test_a_mismatched_certificate_and_key_are_refused(fresh_pki: Pki, tmp_path: Path) -> None:
    _, other_key = CertificateAuthority().server().write(tmp_path, "other")
    reason = serve_refused(
        "--listen",
        f"127.0.0.1:{free_port()}",
        "--tls-cert",
        str(fresh_pki.server_cert),
        "--tls-key",
        str(other_key),
        "--tls-client-ca",
        str(fresh_pki.client_ca),
    )
    assert "does not match" in reason


def test_an_unreadable_certificate_is_refused(fresh_pki: Pki, tmp_path: Path) -> None:
    reason = serve_refused(
        "--listen",
        f"127.0.0.1:{free_port()}",
        "--tls-cert",
        str(tmp_path / "missing.pem"),
        "--tls-key",
        str(fresh_pki.server_key),
        "--tls-client-ca",
        str(fresh_pki.client_ca),
    )
    assert "unreadable" in reason


@pytest.mark.parametrize(
    "policy",
    [
        b"version: 1\nrpcs:\n  Screen:\n    janitor: {}\n",
        b"version: 1\nrpcs:\n  Teleport:\n    counter: {}\n",
        b"version: 1\nrules: []\nrpcs: {}\n",
        b"version: 1\nrpcs:\n  Screen:\n    counter: {checkpoint: mine}\n",
        b"version: 1\nrpcs:\n  Screen:\n    auditor: {checkpoint: own}\n",
    ],
    ids=["unknown role", "unknown RPC", "unknown field", "unknown value", "national own"],
)
def test_an_invalid_policy_is_refused(tmp_path: Path, policy: bytes) -> None:
    path = tmp_path / "policy.yaml"
    write_atomically(path, policy)
    reason = serve_refused("--listen", f"127.0.0.1:{free_port()}", "--access-policy", str(path))
    assert "access policy" in reason


def test_an_invalid_jwks_is_refused(fresh_pki: Pki) -> None:
    write_atomically(
        fresh_pki.jwks, json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}).encode()
    )
    reason = serve_refused(
        "--listen",
        f"127.0.0.1:{free_port()}",
        "--officer-jwks",
        str(fresh_pki.jwks),
        "--officer-issuer",
        "https://idp.example",
        "--officer-audience",
        "depscreen",
    )
    assert "JWKS" in reason


def test_insecure_serves_plaintext_on_any_address_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    app = build_app(
        ServeConfig(
            listen="0.0.0.0:0",
            metrics_listen="127.0.0.1:0",
            store="memory:",
            access=AccessSettings(insecure=True),
        )
    )
    running = serve(app)
    try:
        assert running.port > 0
        assert "--insecure" in caplog.text
    finally:
        running.stop(0)


def test_metrics_over_tls_require_a_client_certificate(fresh_pki: Pki, tmp_path: Path) -> None:
    client_cert, client_key = fresh_pki.ca.device("auditor", None).write(tmp_path, "scraper")
    app = build_app(
        ServeConfig(
            listen="127.0.0.1:0",
            metrics_listen="127.0.0.1:0",
            store="memory:",
            metrics_tls_cert=str(fresh_pki.server_cert),
            metrics_tls_key=str(fresh_pki.server_key),
            metrics_client_ca=str(fresh_pki.client_ca),
        )
    )
    running = serve(app)
    url = f"https://127.0.0.1:{running.metrics_port}/metrics"
    try:
        with_cert = ssl.create_default_context(cadata=fresh_pki.ca.cert_pem.decode())
        with_cert.load_cert_chain(client_cert, client_key)
        with urllib.request.urlopen(url, context=with_cert, timeout=10) as response:
            assert b"depscreen_rpc_requests" in response.read()
        without = ssl.create_default_context(cadata=fresh_pki.ca.cert_pem.decode())
        with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
            urllib.request.urlopen(url, context=without, timeout=10).read()
    finally:
        running.stop(0)
