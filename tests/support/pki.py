"""Certificates and officer tokens made in the tests: a CA, a server, devices, a JWKS."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

TRUST_DOMAIN = "imigrasi.go.id"
ISSUER = "https://idp.imigrasi.go.id"
AUDIENCE = "departure-screening"
_PEM = serialization.Encoding.PEM


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: Any) -> bytes:
    return bytes(
        key.private_bytes(_PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def write_atomically(path: Path, data: bytes) -> None:
    """Replace a file in one step, as a deployment tool would (never half written)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@dataclass
class Issued:
    cert: x509.Certificate
    key: Any

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(_PEM)

    @property
    def key_pem(self) -> bytes:
        return key_pem(self.key)

    @property
    def thumbprint(self) -> str:
        der = self.cert.public_bytes(serialization.Encoding.DER)
        return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()

    def write(self, directory: Path, name: str) -> tuple[Path, Path]:
        cert, key = directory / f"{name}.pem", directory / f"{name}.key"
        write_atomically(cert, self.cert_pem)
        write_atomically(key, self.key_pem)
        return cert, key


class CertificateAuthority:
    def __init__(self, name: str = "Test devices CA") -> None:
        self.key = _key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(_PEM)

    def issue(
        self,
        common_name: str,
        *,
        uris: tuple[str, ...] = (),
        dns: tuple[str, ...] = (),
        ips: tuple[str, ...] = (),
        expired: bool = False,
    ) -> Issued:
        import ipaddress

        key = _key()
        now = dt.datetime.now(dt.UTC)
        start, end = (
            (now - dt.timedelta(days=10), now - dt.timedelta(days=1))
            if expired
            else (now - dt.timedelta(hours=1), now + dt.timedelta(days=1))
        )
        names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(u) for u in uris]
        names += [x509.DNSName(d) for d in dns]
        names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return Issued(builder.sign(self.key, hashes.SHA256()), key)

    def server(self) -> Issued:
        return self.issue("localhost", dns=("localhost",), ips=("127.0.0.1",))

    def device(self, role: str, checkpoint: str | None = "CGK", name: str = "dev-01") -> Issued:
        return self.issue(name, uris=(spiffe_id(role, checkpoint, name),))


def spiffe_id(
    role: str, checkpoint: str | None = "CGK", name: str = "dev-01", domain: str = TRUST_DOMAIN
) -> str:
    if checkpoint is None:
        return f"spiffe://{domain}/{role}/{name}"
    return f"spiffe://{domain}/checkpoint/{checkpoint}/{role}/{name}"


class TokenIssuer:
    """The identity provider's signing key, its JWKS, and tokens signed with it."""

    def __init__(self, kind: str = "ec", kid: str = "officer-1") -> None:
        self.kid = kid
        if kind == "ec":
            self.key: Any = ec.generate_private_key(ec.SECP256R1())
            self.algorithm = "ES256"
        else:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.algorithm = "RS256"

    def jwks(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        jwk = json.loads(algorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=self.kid, use="sig", alg=self.algorithm)
        return {"keys": [jwk]}

    def public_pem(self) -> bytes:
        return bytes(
            self.key.public_key().public_bytes(
                _PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def claims(
        self, officer: str = "officer-7", ttl: float = 600, **changes: Any
    ) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": officer,
            "iat": now,
            "exp": now + ttl,
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, officer: str = "officer-7", ttl: float = 600, **changes: Any) -> str:
        return jwt.encode(
            self.claims(officer, ttl, **changes),
            self.key,
            algorithm=self.algorithm,
            headers={"kid": self.kid},
        )


@dataclass
class Pki:
    """Every file a TLS server needs, in one directory."""

    directory: Path
    ca: CertificateAuthority
    issuer: TokenIssuer
    server_cert: Path
    server_key: Path
    client_ca: Path
    jwks: Path

    @classmethod
    def create(cls, directory: Path) -> Pki:
        ca = CertificateAuthority()
        issuer = TokenIssuer()
        server_cert, server_key = ca.server().write(directory, "server")
        client_ca = directory / "client-ca.pem"
        write_atomically(client_ca, ca.cert_pem)
        jwks = directory / "jwks.json"
        write_atomically(jwks, json.dumps(issuer.jwks()).encode())
        return cls(directory, ca, issuer, server_cert, server_key, client_ca, jwks)

    def serve_flags(self) -> dict[str, str]:
        return {
            "tls_cert": str(self.server_cert),
            "tls_key": str(self.server_key),
            "tls_client_ca": str(self.client_ca),
            "officer_jwks": str(self.jwks),
            "officer_issuer": ISSUER,
            "officer_audience": AUDIENCE,
        }
