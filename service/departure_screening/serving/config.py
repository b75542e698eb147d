"""``depscreen serve`` settings: flags, each also settable as ``DEPSCREEN_<FLAG>``."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from departure_screening.access.control import AccessSettings
from departure_screening.api.limits import DEFAULT_MAX_MANIFEST_STREAMS, DEFAULT_MAX_WATCHERS
from departure_screening.pipeline.batching import DEFAULT_MAX_CALLERS
from departure_screening.screening.alerts import DEFAULT_WATCHER_BUFFER
from departure_screening.screening.ruleset import default_rules_dir
from departure_screening.serving.logs import FORMATS, TEXT

DEFAULT_CHECKPOINTS = ("CGK", "SUB", "KNO", "DPS", "BTH", "YIA", "UPG", "ENTIKONG")
DEFAULT_STORE = "sqlite:///./var/depscreen.db"


@dataclass(frozen=True)
class ServeConfig:
    listen: str = "127.0.0.1:50051"
    metrics_listen: str = "127.0.0.1:9464"
    store: str = DEFAULT_STORE
    rules: Path = field(default_factory=default_rules_dir)
    checkpoints: tuple[str, ...] = DEFAULT_CHECKPOINTS
    workers: int = 16  # threads for short calls; the long streams get their own
    max_watchers: int = DEFAULT_MAX_WATCHERS
    watch_buffer: int = DEFAULT_WATCHER_BUFFER  # alerts waiting for one watcher
    max_manifest_streams: int = DEFAULT_MAX_MANIFEST_STREAMS
    max_commit_queue: int = DEFAULT_MAX_CALLERS
    # A short call that waited this long for a thread is refused instead of started.
    max_call_wait_ms: float = 500.0
    grace_seconds: float = 5.0
    drain_seconds: float = 5.0  # NOT_SERVING but still serving, before the grace period
    key_file: str = ""
    processes: int = 1
    rules_keys: str = ""
    rules_signatures: int = 0
    rules_poll: float = 2.0
    # A candidate evaluated beside the served rules, never answering (lifecycle.md).
    shadow_rules: Path | None = None
    access: AccessSettings = field(default_factory=AccessSettings)
    # /metrics over TLS, with client certificates when a CA is given (as Prometheus'
    # own exporters do).
    metrics_tls_cert: str = ""
    metrics_tls_key: str = ""
    metrics_client_ca: str = ""
    log_format: str = TEXT  # or JSON: one object per line
    # gRPC server options (documented in the README); see server_options() in server.py.
    max_connection_age_seconds: float = 300.0
    max_connection_age_grace_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.processes < 1:
            raise ValueError(f"processes must be at least 1, got {self.processes}")
        if self.max_commit_queue < 1:
            raise ValueError(f"max commit queue must be at least 1, got {self.max_commit_queue}")
        if not (math.isfinite(self.max_call_wait_ms) and self.max_call_wait_ms > 0):
            raise ValueError(f"max call wait must be above 0 ms, got {self.max_call_wait_ms}")
        if self.rules_poll < 0:
            raise ValueError(f"rules poll must be 0 or more seconds, got {self.rules_poll}")
        if self.rules_signatures < 0:
            raise ValueError(f"rules signatures must be 0 or more, got {self.rules_signatures}")
        if self.rules_signatures and not self.rules_keys:
            raise ValueError("--rules-signatures needs --rules-keys, the signers' public keys")


def _env(environ: Mapping[str, str], flag: str, default: str) -> str:
    return environ.get("DEPSCREEN_" + flag.upper().replace("-", "_"), default)


def add_serve_arguments(
    parser: argparse.ArgumentParser, environ: Mapping[str, str] | None = None
) -> None:
    env = os.environ if environ is None else environ
    d = ServeConfig()
    parser.add_argument(
        "--listen",
        default=_env(env, "listen", d.listen),
        metavar="HOST:PORT",
        help="gRPC address (DEPSCREEN_LISTEN; default %(default)s)",
    )
    parser.add_argument(
        "--metrics-listen",
        default=_env(env, "metrics-listen", d.metrics_listen),
        metavar="HOST:PORT",
        help="Prometheus /metrics address (DEPSCREEN_METRICS_LISTEN; default %(default)s)",
    )
    parser.add_argument(
        "--store",
        default=_env(env, "store", d.store),
        metavar="URL",
        help="sqlite:///PATH, postgresql://... or memory: (DEPSCREEN_STORE; default %(default)s)",
    )
    parser.add_argument(
        "--rules",
        default=_env(env, "rules", str(d.rules)),
        metavar="PATH",
        help="ruleset directory or bundle (DEPSCREEN_RULES; default: the shipped rules)",
    )
    parser.add_argument(
        "--rules-keys",
        default=_env(env, "rules-keys", d.rules_keys),
        metavar="DIR",
        help="public keys (*.pub) whose signatures on a rule bundle count (DEPSCREEN_RULES_KEYS)",
    )
    parser.add_argument(
        "--rules-signatures",
        type=int,
        default=int(_env(env, "rules-signatures", str(d.rules_signatures))),
        metavar="N",
        help="valid signatures by distinct keys a ruleset needs; 2 for four eyes"
        " (DEPSCREEN_RULES_SIGNATURES; default %(default)s: unsigned directories accepted)",
    )
    parser.add_argument(
        "--shadow-rules",
        default=_env(env, "shadow-rules", ""),
        metavar="PATH",
        help="ruleset directory or bundle also evaluated on every screening after its answer,"
        " stored beside it and never returned; verified and reloaded like --rules"
        " (DEPSCREEN_SHADOW_RULES)",
    )
    parser.add_argument(
        "--rules-poll",
        type=float,
        default=float(_env(env, "rules-poll", str(d.rules_poll))),
        metavar="SECONDS",
        help="how often to look for changed rules, reloaded on change and on SIGHUP"
        " (DEPSCREEN_RULES_POLL; default %(default)s; 0: on SIGHUP only)",
    )
    parser.add_argument(
        "--checkpoints",
        default=_env(env, "checkpoints", ",".join(d.checkpoints)),
        metavar="CODES",
        help="comma-separated checkpoint codes (DEPSCREEN_CHECKPOINTS)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(_env(env, "workers", str(d.workers))),
        help="gRPC threads for short calls, beside those of the streams below"
        " (DEPSCREEN_WORKERS; default %(default)s)",
    )
    parser.add_argument(
        "--max-watchers",
        type=at_least_one,
        default=_env(env, "max-watchers", str(d.max_watchers)),
        metavar="N",
        help="open WatchAlerts streams; more get RESOURCE_EXHAUSTED"
        " (DEPSCREEN_MAX_WATCHERS; default %(default)s)",
    )
    parser.add_argument(
        "--watch-buffer",
        type=at_least_one,
        default=_env(env, "watch-buffer", str(d.watch_buffer)),
        metavar="N",
        help="alerts waiting to be sent to one WatchAlerts stream; past them the stream"
        " ends RESOURCE_EXHAUSTED (DEPSCREEN_WATCH_BUFFER; default %(default)s)",
    )
    parser.add_argument(
        "--max-manifest-streams",
        type=at_least_one,
        default=_env(env, "max-manifest-streams", str(d.max_manifest_streams)),
        metavar="N",
        help="open ScreenManifest streams; more get RESOURCE_EXHAUSTED"
        " (DEPSCREEN_MAX_MANIFEST_STREAMS; default %(default)s)",
    )
    parser.add_argument(
        "--max-commit-queue",
        type=at_least_one,
        default=_env(env, "max-commit-queue", str(d.max_commit_queue)),
        metavar="N",
        help="calls (a Screen, a manifest's chunk) being screened or waiting for their commit"
        " at once, per process; more get RESOURCE_EXHAUSTED at once"
        " (DEPSCREEN_MAX_COMMIT_QUEUE; default %(default)s)",
    )
    parser.add_argument(
        "--max-call-wait-ms",
        type=milliseconds_above_zero,
        default=_env(env, "max-call-wait-ms", str(d.max_call_wait_ms)),
        metavar="MS",
        help="a short call that waited longer for a thread is refused with"
        " RESOURCE_EXHAUSTED before any work (DEPSCREEN_MAX_CALL_WAIT_MS; default %(default)s)",
    )
    parser.add_argument(
        "--grace-seconds",
        type=float,
        default=float(_env(env, "grace-seconds", str(d.grace_seconds))),
        help="time for in-flight calls at shutdown (DEPSCREEN_GRACE_SECONDS)",
    )
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=float(_env(env, "drain-seconds", str(d.drain_seconds))),
        help="at shutdown, time NOT_SERVING but still answering, so load balancers"
        " notice, before the grace period (DEPSCREEN_DRAIN_SECONDS; default %(default)s)",
    )
    parser.add_argument(
        "--key-file",
        default=_env(env, "key-file", d.key_file),
        metavar="PATH",
        help="pseudonymisation key file (DEPSCREEN_KEY_FILE; default: beside the store)",
    )
    parser.add_argument(
        "--processes",
        type=at_least_one,
        # A string default goes through ``type`` too, so a bad DEPSCREEN_PROCESSES is refused
        # with the same message as a bad flag.
        default=_env(env, "processes", str(d.processes)),
        metavar="N",
        help="server processes sharing the gRPC port (DEPSCREEN_PROCESSES; default %(default)s)",
    )
    _add_access_arguments(parser, env)
    parser.add_argument(
        "--log-format",
        choices=FORMATS,
        default=_env(env, "log-format", d.log_format),
        help="log lines as text or one JSON object each (DEPSCREEN_LOG_FORMAT; default text)",
    )
    parser.add_argument(
        "--max-connection-age-seconds",
        type=float,
        default=float(_env(env, "max-connection-age-seconds", str(d.max_connection_age_seconds))),
        metavar="S",
        help="a client connection is closed after this long (plus a grace period), so clients"
        " rebalance over processes and replicas (DEPSCREEN_MAX_CONNECTION_AGE_SECONDS)",
    )
    parser.add_argument(
        "--max-connection-age-grace-seconds",
        type=float,
        default=float(
            _env(env, "max-connection-age-grace-seconds", str(d.max_connection_age_grace_seconds))
        ),
        metavar="S",
        help="time calls in flight get to finish on a connection closed for its age"
        " (DEPSCREEN_MAX_CONNECTION_AGE_GRACE_SECONDS)",
    )
    # Set by the supervisor on the processes it starts (see supervisor.py), never by hand.
    parser.add_argument(
        "--worker-of-supervisor", type=int, default=0, metavar="PID", help=argparse.SUPPRESS
    )
    parser.add_argument("--ready-fd", type=int, default=-1, metavar="FD", help=argparse.SUPPRESS)


# Identity and access (see the access specification): (flag, metavar, help).
_PATH_FLAGS = (
    ("tls-cert", "PATH", "the server's certificate chain (PEM)"),
    ("tls-key", "PATH", "the server's private key (PEM)"),
    ("tls-client-ca", "PATH", "CA bundle of device certificates; client certificates required"),
    ("trust-domain", "NAME", "SPIFFE trust domain of device identities"),
    ("access-policy", "PATH", "access policy file (default: the shipped one)"),
    ("officer-jwks", "PATH", "JSON Web Key Set of the officer token issuer"),
    ("officer-issuer", "ISS", "required iss of officer tokens"),
    ("officer-audience", "AUD", "required aud of officer tokens"),
    ("probe-listen", "HOST:PORT", "plaintext gRPC health only, when serving mTLS"),
    ("metrics-tls-cert", "PATH", "serve /metrics over TLS with this certificate"),
    ("metrics-tls-key", "PATH", "the /metrics TLS key"),
    ("metrics-client-ca", "PATH", "require /metrics clients to show a certificate of this CA"),
)


def _add_access_arguments(parser: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    d = ServeConfig()
    defaults = {"trust-domain": d.access.trust_domain, "probe-listen": d.access.probe_listen}
    for flag, metavar, text in _PATH_FLAGS:
        variable = "DEPSCREEN_" + flag.upper().replace("-", "_")
        parser.add_argument(
            "--" + flag,
            default=_env(env, flag, defaults.get(flag, "")),
            metavar=metavar,
            help=f"{text} ({variable})",
        )
    parser.add_argument(
        "--insecure",
        action="store_true",
        default=_env(env, "insecure", "").lower() in ("1", "true", "yes"),
        help="allow plaintext on a non-loopback --listen (DEPSCREEN_INSECURE)",
    )


def at_least_one(text: str) -> int:
    """An argparse type: a whole number, 1 or more (processes, days, travellers)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def milliseconds_above_zero(text: str) -> float:
    """argparse type: a finite number of milliseconds above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of milliseconds: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def serve_config(args: argparse.Namespace) -> ServeConfig:
    return ServeConfig(
        listen=args.listen,
        metrics_listen=args.metrics_listen,
        store=args.store,
        rules=Path(args.rules),
        checkpoints=tuple(c.strip() for c in args.checkpoints.split(",") if c.strip()),
        workers=args.workers,
        max_watchers=args.max_watchers,
        watch_buffer=args.watch_buffer,
        max_manifest_streams=args.max_manifest_streams,
        max_commit_queue=args.max_commit_queue,
        max_call_wait_ms=args.max_call_wait_ms,
        grace_seconds=args.grace_seconds,
        drain_seconds=args.drain_seconds,
        key_file=args.key_file,
        processes=args.processes,
        rules_keys=args.rules_keys,
        rules_signatures=args.rules_signatures,
        rules_poll=args.rules_poll,
        shadow_rules=Path(args.shadow_rules) if args.shadow_rules else None,
        access=AccessSettings(
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            tls_client_ca=args.tls_client_ca,
            trust_domain=args.trust_domain,
            access_policy=args.access_policy,
            officer_jwks=args.officer_jwks,
            officer_issuer=args.officer_issuer,
            officer_audience=args.officer_audience,
            probe_listen=args.probe_listen,
            insecure=args.insecure,
        ),
        metrics_tls_cert=args.metrics_tls_cert,
        metrics_tls_key=args.metrics_tls_key,
        metrics_client_ca=args.metrics_client_ca,
        log_format=args.log_format,
        max_connection_age_seconds=args.max_connection_age_seconds,
        max_connection_age_grace_seconds=args.max_connection_age_grace_seconds,
    )


def serve_arguments(config: ServeConfig) -> list[str]:
    """The flags that, with ``serve_environment``, give ``config`` back, /metrics aside.

    The store URL is not among them: it may hold a password, and a command line is
    visible to every user of the host (``ps``, /proc/PID/cmdline).
    """
    a = config.access
    return [
        "--listen",
        config.listen,
        "--rules",
        str(config.rules),
        "--checkpoints",
        ",".join(config.checkpoints),
        "--workers",
        str(config.workers),
        "--max-watchers",
        str(config.max_watchers),
        "--watch-buffer",
        str(config.watch_buffer),
        "--max-manifest-streams",
        str(config.max_manifest_streams),
        "--max-commit-queue",
        str(config.max_commit_queue),
        "--max-call-wait-ms",
        repr(config.max_call_wait_ms),
        "--grace-seconds",
        repr(config.grace_seconds),
        "--drain-seconds",
        repr(config.drain_seconds),
        "--key-file",
        config.key_file,
        "--processes",
        str(config.processes),
        "--rules-keys",
        config.rules_keys,
        "--rules-signatures",
        str(config.rules_signatures),
        "--rules-poll",
        repr(config.rules_poll),
        "--shadow-rules",
        str(config.shadow_rules or ""),
        "--tls-cert",
        a.tls_cert,
        "--tls-key",
        a.tls_key,
        "--tls-client-ca",
        a.tls_client_ca,
        "--trust-domain",
        a.trust_domain,
        "--access-policy",
        a.access_policy,
        "--officer-jwks",
        a.officer_jwks,
        "--officer-issuer",
        a.officer_issuer,
        "--officer-audience",
        a.officer_audience,
        "--probe-listen",
        a.probe_listen,
        *(["--insecure"] if a.insecure else []),
        "--log-format",
        config.log_format,
        "--max-connection-age-seconds",
        repr(config.max_connection_age_seconds),
        "--max-connection-age-grace-seconds",
        repr(config.max_connection_age_grace_seconds),
    ]


def serve_environment(config: ServeConfig) -> dict[str, str]:
    """The settings passed in the environment, which only the same user can read."""
    return {"DEPSCREEN_STORE": config.store}


def redact(text: str, url: str) -> str:
    """``text`` with the password of ``url``, wherever it appears, masked."""
    password = urlsplit(url).password if "://" in url else None
    return text.replace(password, "***") if password else text


def split_host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {address!r}")
    return host.strip("[]"), int(port)
