"""A development PKI: a CA, a server certificate, one device certificate per role.

For trying mutual TLS on one machine and for tests. Nothing here is fit for production: the
CA key sits in a plain file beside the certificates it signs.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from departure_screening.access.defaults import DEFAULT_TRUST_DOMAIN
from departure_screening.access.tokens_issue import jwk_of

DEFAULT_CHECKPOINT = "CGK"
# Roles bound to one checkpoint, and the device name each gets in the development set.
CHECKPOINT_ROLES = {"counter": "lane-01", "manifest": "processor-01", "supervisor": "console-01"}
# Roles of the whole directorate, and the name each gets.
NATIONAL_ROLES = {"auditor": "itjen-01", "instructor": "trainer-01"}
CA_DAYS = 365
LEAF_DAYS = 90
# Certificates start a little in the past: clocks of two hosts rarely agree to the second.
CLOCK_SKEW = dt.timedelta(minutes=5)
SIGNING_KEY_FILE = "officer-signing.key"
JWKS_FILE = "jwks.json"

# SPIFFE: a trust domain is lowercase letters, digits, dots, dashes and underscores.
_TRUST_DOMAIN = re.compile(r"[a-z0-9._-]{1,255}")
_CHECKPOINT = re.compile(r"[A-Z0-9]{2,16}")


class CertsError(ValueError):
    """The development PKI cannot be written as asked; the message says why."""


def check_trust_domain(name: str) -> str:
    if not _TRUST_DOMAIN.fullmatch(name):
        raise CertsError(
            f"not a SPIFFE trust domain: {name!r} (lowercase letters, digits, '.', '-', '_')"
        )
    return name


def check_checkpoint(code: str) -> str:
    if not _CHECKPOINT.fullmatch(code):
        raise CertsError(f"not a checkpoint code: {code!r} (2 to 16 capital letters or digits)")
    return code


def device_id(trust_domain: str, role: str, name: str, checkpoint: str | None = None) -> str:
    """The SPIFFE id of a device: checkpoint-bound roles carry their checkpoint."""
    if checkpoint is None:
        return f"spiffe://{trust_domain}/{role}/{name}"
    return f"spiffe://{trust_domain}/checkpoint/{checkpoint}/{role}/{name}"


@dataclass(frozen=True)
class Issuer:
    """The CA: its certificate and the key that signs the others."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "departure-screening development"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_ca(now: dt.datetime, common_name: str = "departure-screening development CA") -> Issuer:
    key = _new_key()
    name = _name(common_name)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issuer(cert, key)


def make_leaf(
    issuer: Issuer,
    now: dt.datetime,
    common_name: str,
    names: Sequence[x509.GeneralName],
    usage: x509.ObjectIdentifier,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """An end-entity certificate with exactly ``names`` as its SAN and one extended usage."""
    key = _new_key()
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        # Critical when the subject is empty; here it never is, so the usual non-critical.
        .add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
        .sign(issuer.key, hashes.SHA256())
    )
    return cert, key


def server_names() -> list[x509.GeneralName]:
    return [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]


def client_files(trust_domain: str, checkpoints: Sequence[str]) -> dict[str, str]:
    """File stem → SPIFFE id of every device certificate of the development set."""
    out = {}
    for checkpoint in checkpoints:
        for role, name in CHECKPOINT_ROLES.items():
            out[f"{role}-{checkpoint}"] = device_id(trust_domain, role, name, checkpoint)
    for role, name in NATIONAL_ROLES.items():
        out[role] = device_id(trust_domain, role, name)
    return out


def write_private(path: Path, data: bytes) -> None:
    """Write a secret: created with mode 0600 under a temporary name, then moved in place.

    The mode is set at creation, so the secret is never readable by others, not even for
    a moment; an existing file is replaced, not truncated, so its old mode does not carry over.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _pair(
    directory: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> list[Path]:
    write_private(directory / f"{stem}.key", _key_pem(key))
    _write_public(directory / f"{stem}.pem", _cert_pem(cert))
    return [directory / f"{stem}.pem", directory / f"{stem}.key"]


def init_dev_pki(
    directory: Path,
    *,
    trust_domain: str = DEFAULT_TRUST_DOMAIN,
    checkpoints: Sequence[str] = (DEFAULT_CHECKPOINT,),
    force: bool = False,
    now: dt.datetime | None = None,
) -> list[Path]:
    """Write the development CA, server, device certificates and officer signing key.

    Refuses (CertsError) a directory that already holds files unless ``force``: a second run
    would replace the CA and so invalidate every certificate handed out from the first.
    Returns the files written.
    """
    check_trust_domain(trust_domain)
    codes = list(dict.fromkeys(check_checkpoint(c) for c in checkpoints))
    if not codes:
        raise CertsError("at least one checkpoint is needed")
    if directory.exists() and not directory.is_dir():
        raise CertsError(f"{directory} exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise CertsError(f"{directory} is not empty; pass --force to replace the files in it")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = now or dt.datetime.now(dt.UTC)

    ca = make_ca(now)
    written = _pair(directory, "ca", ca.cert, ca.key)
    server, server_key = make_leaf(
        ca, now, "localhost", server_names(), ExtendedKeyUsageOID.SERVER_AUTH
    )
    written += _pair(directory, "server", server, server_key)
    for stem, spiffe_id in client_files(trust_domain, codes).items():
        cert, key = make_leaf(
            ca,
            now,
            spiffe_id.rsplit("/", 1)[-1],
            [x509.UniformResourceIdentifier(spiffe_id)],
            ExtendedKeyUsageOID.CLIENT_AUTH,
        )
        written += _pair(directory, stem, cert, key)

    signing = _new_key()
    write_private(directory / SIGNING_KEY_FILE, _key_pem(signing))
    jwks = {"keys": [jwk_of(signing.public_key())]}
    _write_public(directory / JWKS_FILE, (json.dumps(jwks, indent=2) + "\n").encode())
    return [*written, directory / SIGNING_KEY_FILE, directory / JWKS_FILE]
