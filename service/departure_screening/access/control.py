"""From the ``serve`` settings to what the server needs: credentials and the interceptor.

Every refusal at start is a ``ValueError`` with a one-line reason (``depscreen serve`` exits 2).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from departure_screening.access.identity import valid_trust_domain
from departure_screening.access.interceptor import AccessInterceptor, ScopeLookup
from departure_screening.access.policy import default_policy_path, load_policy
from departure_screening.access.tls import TlsFiles, server_credentials
from departure_screening.access.tokens import TokenRules, load_jwks
from departure_screening.access.watched import WatchedFile
from departure_screening.metrics import Metrics

log = logging.getLogger(__name__)

DEFAULT_TRUST_DOMAIN = "imigrasi.go.id"
DEFAULT_PROBE_LISTEN = "127.0.0.1:50052"
# The policy and the key set are looked at on every call, but their files at most this often:
# a changed file is in force within a second, without a stat per call.
RECHECK_SECONDS = 1.0


@dataclass(frozen=True)
class AccessSettings:
    tls_cert: str = ""
    tls_key: str = ""
    tls_client_ca: str = ""
    trust_domain: str = DEFAULT_TRUST_DOMAIN
    access_policy: str = ""  # empty: the shipped policy
    officer_jwks: str = ""
    officer_issuer: str = ""
    officer_audience: str = ""
    probe_listen: str = DEFAULT_PROBE_LISTEN
    insecure: bool = False

    @property
    def mtls(self) -> bool:
        return bool(self.tls_cert or self.tls_key or self.tls_client_ca)

    def policy_path(self) -> Path:
        return Path(self.access_policy) if self.access_policy else default_policy_path()


@dataclass(frozen=True)
class AccessControl:
    """``credentials`` and ``interceptor`` are None when serving plaintext."""

    credentials: Any
    interceptor: AccessInterceptor | None


def is_loopback(listen: str) -> bool:
    host = listen.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def settings_problem(settings: AccessSettings, listen: str) -> str | None:
    """Why these settings cannot serve, in one line; None when they can."""
    s = settings
    if bool(s.tls_cert) != bool(s.tls_key):
        return "--tls-cert and --tls-key go together"
    if s.tls_cert and not s.tls_client_ca:
        return (
            "--tls-cert without --tls-client-ca: the service never serves anonymous callers "
            "over TLS"
        )
    if s.tls_client_ca and not s.tls_cert:
        return "--tls-client-ca needs --tls-cert and --tls-key"
    if not s.mtls and not s.insecure and not is_loopback(listen):
        return (
            f"--listen {listen} is not a loopback address: serve mTLS (--tls-cert, --tls-key, "
            "--tls-client-ca) or pass --insecure behind a mesh that terminates mTLS"
        )
    if not valid_trust_domain(s.trust_domain):
        return f"--trust-domain {s.trust_domain!r} is not a SPIFFE trust domain name"
    officer_flags = (s.officer_jwks, s.officer_issuer, s.officer_audience)
    if any(officer_flags) and not all(officer_flags):
        return "--officer-jwks, --officer-issuer and --officer-audience go together"
    return None


def build_access(
    settings: AccessSettings,
    *,
    listen: str,
    checkpoints: Collection[str],
    find_scope: ScopeLookup,
    metrics: Metrics,
) -> AccessControl:
    problem = settings_problem(settings, listen)
    if problem:
        raise ValueError(problem)

    def reloaded(label: str, result: str) -> None:
        metrics.config_reloads.labels(label, result).inc()

    policy_path = settings.policy_path()
    # Checked in every mode, so a bad file is found before it is needed.
    policy = WatchedFile(
        "access_policy",
        (policy_path,),
        lambda: load_policy(policy_path),
        reloaded,
        recheck_seconds=RECHECK_SECONDS,
    )
    keys = None
    if settings.officer_jwks:
        jwks_path = Path(settings.officer_jwks)
        keys = WatchedFile(
            "jwks",
            (jwks_path,),
            lambda: load_jwks(jwks_path),
            reloaded,
            recheck_seconds=RECHECK_SECONDS,
        )
    if not settings.mtls:
        if not is_loopback(listen):
            log.warning(
                "serving plaintext on %s (--insecure): no identities, every call allowed", listen
            )
        return AccessControl(None, None)
    credentials = server_credentials(
        TlsFiles(Path(settings.tls_cert), Path(settings.tls_key), Path(settings.tls_client_ca)),
        reloaded,
    )
    interceptor = AccessInterceptor(
        policy=policy,
        signing_keys=keys,
        token_rules=(
            TokenRules(settings.officer_issuer, settings.officer_audience) if keys else None
        ),
        trust_domain=settings.trust_domain,
        checkpoints=checkpoints,
        find_scope=find_scope,
        metrics=metrics,
    )
    # Rotated certificates reach long-lived clients through the server's maximum
    # connection age (serving.server.server_options): each reconnection handshakes anew.
    return AccessControl(credentials, interceptor)
