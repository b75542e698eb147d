"""The bench's own identities for its mTLS phase: a development PKI and an officer token.

Made afresh in the run's temporary folder with the project's own tools, so the phase
measures exactly what a counter PC does: a device certificate of the client CA, and an
officer token bound to that certificate (``cnf``) and to its checkpoint, checked on every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from departure_screening.access.client import ClientCredentials, load_client_credentials
from departure_screening.access.devcerts import (
    DEFAULT_CHECKPOINT,
    JWKS_FILE,
    SIGNING_KEY_FILE,
    init_dev_pki,
)
from departure_screening.access.tokens_issue import issue_token, load_certificate, load_signing_key

# The device the load generator plays: a counter PC at the bench traffic's checkpoint.
DEVICE = f"counter-{DEFAULT_CHECKPOINT}"
OFFICER = "bench-officer"
# Longer than any bench run: a token that expired mid-phase would turn it into a refusal count.
TOKEN_TTL_SECONDS = 86_400


@dataclass(frozen=True)
class AccessMaterial:
    """Where the server's TLS files are, and what the client presents."""

    directory: Path
    client: ClientCredentials

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server.key"

    @property
    def client_ca(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def jwks(self) -> Path:
        return self.directory / JWKS_FILE

    def tls_arguments(self) -> list[str]:
        """Server flags: mutual TLS with the bench's CA (the service and the baseline alike)."""
        return [
            "--tls-cert",
            str(self.server_cert),
            "--tls-key",
            str(self.server_key),
            "--tls-client-ca",
            str(self.client_ca),
        ]


def make_access_material(directory: Path) -> AccessMaterial:
    """Write the PKI into ``directory`` (created, must be empty) and sign the officer token."""
    init_dev_pki(directory)
    device_cert = directory / f"{DEVICE}.pem"
    token = issue_token(
        load_signing_key((directory / SIGNING_KEY_FILE).read_bytes()),
        officer=OFFICER,
        ttl_seconds=TOKEN_TTL_SECONDS,
        checkpoint=DEFAULT_CHECKPOINT,
        bind_cert=load_certificate(device_cert.read_bytes()),
    )
    client = load_client_credentials(
        tls_ca=str(directory / "ca.pem"),
        tls_cert=str(device_cert),
        tls_key=str(directory / f"{DEVICE}.key"),
        token=token,
    )
    return AccessMaterial(directory, client)
