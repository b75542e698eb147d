"""How the project's clients connect: plaintext, TLS, or mutual TLS with an officer token.

Every shipped client (exercise run, drill, bench) takes the same four flags and builds its
channels here, so the rules are the same everywhere: a certificate goes with its key, and an
officer token is only ever sent over TLS.
"""

from __future__ import annotations

import argparse
import re
from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

# Base64url segments joined by dots: anything else is a pasting mistake, and gRPC refuses
# metadata values with spaces or control characters anyway.
_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


class ClientConfigError(ValueError):
    """The connection flags do not make sense together; a usage error (exit status 2)."""


@dataclass(frozen=True)
class ClientCredentials:
    """What a client presents: TLS material (PEM) and an officer token, each optional."""

    root_certificates: bytes | None = None
    private_key: bytes | None = None
    certificate_chain: bytes | None = None
    token: str | None = None

    @property
    def tls(self) -> bool:
        return self.root_certificates is not None or self.certificate_chain is not None

    def __repr__(self) -> str:  # never print the key or the token
        return (
            f"ClientCredentials(tls={self.tls}, client_cert={self.certificate_chain is not None},"
            f" token={self.token is not None})"
        )


PLAINTEXT = ClientCredentials()


def add_client_arguments(
    parser: argparse.ArgumentParser,
    description: str = "default: plaintext, as to a service on this host",
) -> None:
    """The four connection flags, on any client's command line."""
    group = parser.add_argument_group("connection security", description)
    group.add_argument(
        "--tls-ca",
        metavar="PATH",
        help="CA bundle (PEM) that issued the server's certificate; turns TLS on "
        "(default with --tls-cert alone: the system's roots)",
    )
    group.add_argument("--tls-cert", metavar="PATH", help="this device's certificate (PEM)")
    group.add_argument("--tls-key", metavar="PATH", help="the key of --tls-cert (PEM)")
    group.add_argument(
        "--token",
        metavar="JWT|@FILE",
        help="officer token sent as 'authorization: Bearer'; @FILE reads it from a file, which "
        "keeps it out of the process list; needs TLS",
    )


def client_credentials(args: argparse.Namespace) -> ClientCredentials:
    """The credentials the flags ask for; ClientConfigError says what is wrong."""
    return load_client_credentials(
        tls_ca=args.tls_ca, tls_cert=args.tls_cert, tls_key=args.tls_key, token=args.token
    )


def load_client_credentials(
    *,
    tls_ca: str | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    token: str | None = None,
) -> ClientCredentials:
    if (tls_cert is None) != (tls_key is None):
        raise ClientConfigError("--tls-cert and --tls-key go together: give both or neither")
    if token is not None and tls_ca is None and tls_cert is None:
        raise ClientConfigError(
            "--token needs TLS (--tls-ca, or --tls-cert and --tls-key): "
            "an officer token is never sent in clear"
        )
    roots = _read("--tls-ca", tls_ca) if tls_ca is not None else None
    if roots is not None:
        _certificates("--tls-ca", roots)
    chain = key = None
    if tls_cert is not None and tls_key is not None:
        chain, key = _read("--tls-cert", tls_cert), _read("--tls-key", tls_key)
        _check_pair(chain, key)
    return ClientCredentials(roots, key, chain, _token(token) if token is not None else None)


def open_channel(
    target: str,
    credentials: ClientCredentials = PLAINTEXT,
    options: Sequence[tuple[str, Any]] = (),
) -> grpc.Channel:
    """A channel to ``target``: plaintext without TLS material, else TLS (mutual with a cert)."""
    if not credentials.tls:
        return grpc.insecure_channel(target, options=options)
    channel_credentials = grpc.ssl_channel_credentials(
        root_certificates=credentials.root_certificates,
        private_key=credentials.private_key,
        certificate_chain=credentials.certificate_chain,
    )
    channel = grpc.secure_channel(target, channel_credentials, options=options)
    if credentials.token is None:
        return channel
    # "authorization: Bearer <token>" on every call of this channel, which is a secure one.
    # Not by grpc.access_token_call_credentials: its plugin hands each call to a Python
    # thread and back, which took a client about 0.7 ms of CPU per call.
    return grpc.intercept_channel(channel, BearerToken(credentials.token))


class _CallDetails(
    namedtuple(
        "_CallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,  # type: ignore[misc]
):
    pass


class BearerToken(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[misc]
    grpc.StreamStreamClientInterceptor,  # type: ignore[misc]
):
    """Adds the officer token to the metadata of every call, whatever its shape."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def __repr__(self) -> str:  # never print the token
        return "BearerToken(...)"

    def _with_token(self, details: Any) -> _CallDetails:
        return _CallDetails(
            details.method,
            details.timeout,
            (*(details.metadata or ()), self._header),
            details.credentials,
            details.wait_for_ready,
            details.compression,
        )

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._with_token(details), request)

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._with_token(details), requests)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._with_token(details), requests)


def token_subject(credentials: ClientCredentials) -> str | None:
    """The officer id a token names, unverified: the client only fills in its own requests."""
    if credentials.token is None:
        return None
    try:
        claims = jwt.decode(credentials.token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) and sub else None


def _read(flag: str, path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ClientConfigError(f"cannot read {flag} {path}: {exc.strerror or exc}") from None


def _certificates(flag: str, pem: bytes) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError:
        certs = []
    if not certs:
        raise ClientConfigError(f"{flag} holds no PEM certificate")
    return certs


def _check_pair(chain: bytes, key_pem: bytes) -> None:
    # Caught here, a mismatch is one clear line; in the handshake it is an opaque UNAVAILABLE.
    cert = _certificates("--tls-cert", chain)[0]
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise ClientConfigError("--tls-key holds no unencrypted PEM private key") from None
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(der, spki) != cert.public_key().public_bytes(der, spki):
        raise ClientConfigError("--tls-key is not the key of --tls-cert")


def _token(value: str) -> str:
    if value.startswith("@"):
        value = _read("--token", value[1:]).decode("utf-8", "replace").strip()
    if not _JWT_SHAPE.fullmatch(value):
        raise ClientConfigError("--token is not a JWT (three base64url parts joined by dots)")
    return value
