"""The server's TLS material, re-read when its files change (``dynamic_ssl_server_credentials``).

gRPC asks for the material before each new handshake; a certificate, key or client CA bundle
that changed is checked whole before use, and one that does not check leaves the previous
material serving.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from departure_screening.access.watched import ReloadListener, WatchedFile


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    client_ca: Path


def load_key_pair(cert_path: Path, key_path: Path) -> tuple[bytes, bytes]:
    """``(key, chain)`` PEM, after checking that the key is the first certificate's."""
    try:
        chain = cert_path.read_bytes()
        key = key_path.read_bytes()
    except OSError as error:
        raise ValueError(f"TLS certificate or key unreadable: {error}") from None
    try:
        certs = x509.load_pem_x509_certificates(chain)
    except ValueError:
        raise ValueError(f"TLS certificate {cert_path}: no PEM certificate") from None
    try:
        private = serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError):
        raise ValueError(f"TLS key {key_path}: not an unencrypted PEM private key") from None
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if private.public_key().public_bytes(serialization.Encoding.DER, spki) != certs[
        0
    ].public_key().public_bytes(serialization.Encoding.DER, spki):
        raise ValueError(f"TLS key {key_path} does not match certificate {cert_path}")
    return key, chain


def load_ca_bundle(path: Path) -> bytes:
    try:
        bundle = path.read_bytes()
        x509.load_pem_x509_certificates(bundle)
    except OSError as error:
        raise ValueError(f"client CA unreadable: {error}") from None
    except ValueError:
        raise ValueError(f"client CA {path}: no PEM certificate") from None
    return bundle


def server_credentials(files: TlsFiles, listener: ReloadListener) -> Any:
    """Server credentials requiring a client certificate of the (current) client CA."""
    pair = WatchedFile(
        "tls", (files.cert, files.key), lambda: load_key_pair(files.cert, files.key), listener
    )
    client_ca = WatchedFile(
        "client_ca", (files.client_ca,), lambda: load_ca_bundle(files.client_ca), listener
    )

    def configuration() -> Any:
        return grpc.ssl_server_certificate_configuration([pair.current()], client_ca.current())

    def fetch() -> Any:
        # Both looked at on every handshake, so one change never hides the other.
        replaced = [pair.refresh()[1], client_ca.refresh()[1]]
        return configuration() if any(replaced) else None

    return grpc.dynamic_ssl_server_credentials(
        configuration(), fetch, require_client_authentication=True
    )
