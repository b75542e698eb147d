"""Device identity: the single SPIFFE URI SAN of a client certificate.

``spiffe://<trust-domain>/checkpoint/<CHECKPOINT>/<role>/<device>`` for the roles bound to a
checkpoint, ``spiffe://<trust-domain>/<role>/<name>`` for the national ones. The certificate is
parsed here rather than read from ``peer_identities()``, which mixes SAN kinds.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

CHECKPOINT_ROLES = ("counter", "manifest", "supervisor")
NATIONAL_ROLES = ("auditor", "instructor")
ROLES = CHECKPOINT_ROLES + NATIONAL_ROLES

# A path segment: what SPIFFE allows, minus dot-segments.
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_TRUST_DOMAIN = re.compile(r"[a-z0-9._-]+")


class IdentityError(ValueError):
    """The certificate does not name a device this service knows."""


@dataclass(frozen=True)
class Device:
    spiffe_id: str
    role: str
    checkpoint: str | None  # None for the national roles
    name: str
    cert_thumbprint: str  # base64url SHA-256 of the certificate (DER), for RFC 8705 binding


def parse_spiffe_id(
    uri: str, trust_domain: str, checkpoints: Collection[str]
) -> tuple[str, str | None, str]:
    """``(role, checkpoint, name)`` of a SPIFFE id, or ``IdentityError``."""
    prefix = f"spiffe://{trust_domain}/"
    if not uri.startswith(prefix):
        raise IdentityError("not of the trust domain")
    segments = uri[len(prefix) :].split("/")
    if not all(_SEGMENT.fullmatch(s) and s not in (".", "..") for s in segments):
        raise IdentityError("malformed SPIFFE path")
    if len(segments) == 4 and segments[0] == "checkpoint":
        _, checkpoint, role, name = segments
        if role not in CHECKPOINT_ROLES:
            raise IdentityError("unknown checkpoint role")
        if checkpoint not in checkpoints:
            raise IdentityError("unknown checkpoint")
        return role, checkpoint, name
    if len(segments) == 2 and segments[0] in NATIONAL_ROLES:
        return segments[0], None, segments[1]
    raise IdentityError("unknown role or path")


def valid_trust_domain(name: str) -> bool:
    return bool(_TRUST_DOMAIN.fullmatch(name)) and name not in (".", "..")


def device_from_pem(pem: bytes, trust_domain: str, checkpoints: Collection[str]) -> Device:
    """The device a verified client certificate names (the TLS handshake checked the chain)."""
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except (ValueError, x509.InvalidVersion):  # InvalidVersion is no ValueError
        raise IdentityError("unreadable certificate") from None
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise IdentityError("no subject alternative name") from None
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType):
        # Extensions are parsed only now, on first use: a malformed one is found here.
        raise IdentityError("unreadable certificate extensions") from None
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    if len(uris) != 1:
        raise IdentityError("not exactly one URI SAN")
    role, checkpoint, name = parse_spiffe_id(uris[0], trust_domain, checkpoints)
    return Device(uris[0], role, checkpoint, name, thumbprint(cert.public_bytes(Encoding.DER)))


def thumbprint(der: bytes) -> str:
    """RFC 8705 ``x5t#S256``: unpadded base64url of the certificate's SHA-256."""
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
