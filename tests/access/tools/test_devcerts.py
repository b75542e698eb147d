"""`certs init`: the files, their modes, and certificates that chain and name the right identity."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from departure_screening.access.devcerts import CertsError, init_dev_pki

CLIENTS = {
    "counter-CGK": "spiffe://imigrasi.go.id/checkpoint/CGK/counter/lane-01",
    "manifest-CGK": "spiffe://imigrasi.go.id/checkpoint/CGK/manifest/processor-01",
    "supervisor-CGK": "spiffe://imigrasi.go.id/checkpoint/CGK/supervisor/console-01",
    "counter-DPS": "spiffe://imigrasi.go.id/checkpoint/DPS/counter/lane-01",
    "manifest-DPS": "spiffe://imigrasi.go.id/checkpoint/DPS/manifest/processor-01",
    "supervisor-DPS": "spiffe://imigrasi.go.id/checkpoint/DPS/supervisor/console-01",
    "auditor": "spiffe://imigrasi.go.id/auditor/itjen-01",
    "instructor": "spiffe://imigrasi.go.id/instructor/trainer-01",
}
STEMS = ["ca", "server", *CLIENTS]


def _cert(pki: Path, stem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((pki / f"{stem}.pem").read_bytes())


def _eku(cert: x509.Certificate) -> list[x509.ObjectIdentifier]:
    return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_every_file_is_written_and_nothing_else(pki: Path) -> None:
    expected = {f"{s}.pem" for s in STEMS} | {f"{s}.key" for s in STEMS}
    expected |= {"officer-signing.key", "jwks.json"}
    assert {p.name for p in pki.iterdir()} == expected


def test_keys_are_0600_and_certificates_are_not_secret(pki: Path) -> None:
    for path in pki.iterdir():
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.suffix == ".key":
            assert mode == 0o600, path.name
        else:
            assert not mode & 0o022, path.name  # public, but writable by the owner only
    assert stat.S_IMODE(pki.stat().st_mode) == 0o700


def test_keys_are_0600_whatever_the_umask(tmp_path: Path) -> None:
    import os

    old = os.umask(0)  # the mode is set at creation, not left to the umask
    try:
        init_dev_pki(tmp_path / "pki")
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "pki").glob("*.key")}
    assert modes and set(modes.values()) == {0o600}


def test_each_key_belongs_to_its_certificate(pki: Path) -> None:
    for stem in STEMS:
        key = load_pem_private_key((pki / f"{stem}.key").read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        assert key.public_key() == _cert(pki, stem).public_key(), stem


def test_everything_is_signed_by_the_ca(pki: Path, other_pki: Path) -> None:
    ca = _cert(pki, "ca")
    for stem in ["server", *CLIENTS]:
        _cert(pki, stem).verify_directly_issued_by(ca)
    with pytest.raises(InvalidSignature):  # the same CA name, but another key
        _cert(other_pki, "counter-CGK").verify_directly_issued_by(ca)
    basic = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca


def test_device_certificates_carry_exactly_one_spiffe_uri(pki: Path) -> None:
    for stem, spiffe_id in CLIENTS.items():
        san = _cert(pki, stem).extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = list(san.value)
        assert len(names) == 1, stem
        assert names == [x509.UniformResourceIdentifier(spiffe_id)], stem


def test_usages_server_auth_for_the_server_client_auth_for_devices(pki: Path) -> None:
    assert _eku(_cert(pki, "server")) == [ExtendedKeyUsageOID.SERVER_AUTH]
    for stem in CLIENTS:
        assert _eku(_cert(pki, stem)) == [ExtendedKeyUsageOID.CLIENT_AUTH], stem


def test_server_certificate_names_localhost_and_loopback(pki: Path) -> None:
    san = _cert(pki, "server").extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert "localhost" in san.value.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("127.0.0.1") in san.value.get_values_for_type(x509.IPAddress)
    assert not san.value.get_values_for_type(x509.UniformResourceIdentifier)


def test_a_path_validator_accepts_them_for_their_purpose(pki: Path, other_pki: Path) -> None:
    # RFC 5280 path validation with cryptography's verifier: chain, validity, usages.
    policy = PolicyBuilder().store(Store([_cert(pki, "ca")])).time(dt.datetime.now(dt.UTC))
    server = policy.build_server_verifier(x509.DNSName("localhost"))
    server.verify(_cert(pki, "server"), [])
    client = policy.build_client_verifier()
    verified = client.verify(_cert(pki, "counter-CGK"), [])
    assert verified.subjects == [x509.UniformResourceIdentifier(CLIENTS["counter-CGK"])]
    with pytest.raises(VerificationError):  # a device certificate cannot serve
        policy.build_server_verifier(x509.DNSName("localhost")).verify(
            _cert(pki, "counter-CGK"), []
        )
    with pytest.raises(VerificationError):  # another CA's device is a stranger
        client.verify(_cert(other_pki, "counter-CGK"), [])


def test_jwks_holds_the_signing_key_with_a_kid(pki: Path) -> None:
    import jwt

    jwks = json.loads((pki / "jwks.json").read_text())
    [entry] = jwks["keys"]
    assert entry["kty"] == "EC" and entry["crv"] == "P-256" and entry["alg"] == "ES256"
    assert entry["kid"] and "d" not in entry  # public only
    key = load_pem_private_key((pki / "officer-signing.key").read_bytes(), password=None)
    assert jwt.PyJWKSet.from_dict(jwks)[entry["kid"]].key.public_numbers() == (
        key.public_key().public_numbers()  # type: ignore[union-attr]
    )


def test_trust_domain_and_checkpoints_are_honoured(tmp_path: Path) -> None:
    init_dev_pki(
        tmp_path / "p", trust_domain="test.example", checkpoints=["BTH", "BTH", "ENTIKONG"]
    )
    names = sorted(p.name for p in (tmp_path / "p").glob("*.pem"))
    assert names == sorted(
        ["ca.pem", "server.pem", "auditor.pem", "instructor.pem"]
        + [
            f"{r}-{c}.pem"
            for r in ("counter", "manifest", "supervisor")
            for c in ("BTH", "ENTIKONG")
        ]
    )
    cert = _cert(tmp_path / "p", "supervisor-ENTIKONG")
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
        "spiffe://test.example/checkpoint/ENTIKONG/supervisor/console-01"
    ]


@pytest.mark.parametrize(
    ("trust_domain", "checkpoints"),
    [
        ("Imigrasi.go.id", ["CGK"]),
        ("a/b", ["CGK"]),
        ("", ["CGK"]),
        ("x", ["cgk"]),
        ("x", ["C/K"]),
        ("x", []),
    ],
)
def test_bad_names_are_refused_before_anything_is_written(
    tmp_path: Path, trust_domain: str, checkpoints: list[str]
) -> None:
    with pytest.raises(CertsError):
        init_dev_pki(tmp_path / "p", trust_domain=trust_domain, checkpoints=checkpoints)
    assert not (tmp_path / "p").exists()


def test_a_directory_with_files_is_kept_unless_forced(tmp_path: Path) -> None:
    target = tmp_path / "p"
    init_dev_pki(target)
    ca_before = (target / "ca.pem").read_bytes()
    (target / "ca.key").chmod(0o644)  # loosened by hand: a forced run must not keep that
    with pytest.raises(CertsError, match="not empty"):
        init_dev_pki(target)
    assert (target / "ca.pem").read_bytes() == ca_before
    init_dev_pki(target, force=True)
    assert (target / "ca.pem").read_bytes() != ca_before
    assert stat.S_IMODE((target / "ca.key").stat().st_mode) == 0o600
    assert not list(target.glob(".*")), "no temporary files left behind"


def test_an_empty_existing_directory_is_used(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    init_dev_pki(tmp_path / "p")
    assert (tmp_path / "p" / "ca.pem").exists()
