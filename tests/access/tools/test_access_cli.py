"""`depscreen certs init`, `depscreen token issue` and the clients' flags: exit codes, output."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
from cryptography import x509
from departure_screening.access.defaults import DEFAULT_AUDIENCE, DEFAULT_ISSUER
from departure_screening.access.tokens_issue import cert_thumbprint
from departure_screening.cli import main


def test_certs_init_as_a_command(tmp_path: Path) -> None:
    target = tmp_path / "pki"
    done = subprocess.run(
        [sys.executable, "-m", "departure_screening", "certs", "init", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "not for production" in done.stdout
    assert (target / "counter-CGK.pem").exists() and (target / "instructor.key").exists()
    assert stat.S_IMODE((target / "officer-signing.key").stat().st_mode) == 0o600


def test_certs_init_refuses_a_directory_with_files_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "pki"
    assert main(["certs", "init", str(target), "--checkpoint", "SUB"]) == 0
    assert (target / "counter-SUB.pem").exists() and not (target / "counter-CGK.pem").exists()
    capsys.readouterr()
    assert main(["certs", "init", str(target)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["certs", "init", str(target), "--force", "--trust-domain", "t.example"]) == 0
    cert = x509.load_pem_x509_certificate((target / "auditor.pem").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
        "spiffe://t.example/auditor/itjen-01"
    ]


@pytest.mark.parametrize(
    "args",
    [["--trust-domain", "Not/Valid"], ["--checkpoint", "cgk"]],
    ids=["trust-domain", "checkpoint"],
)
def test_certs_init_bad_names_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    assert main(["certs", "init", str(tmp_path / "p"), *args]) == 2
    assert "depscreen certs init:" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("argv", [["certs"], ["token"]])
def test_a_group_without_its_command_is_a_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_token_issue_prints_a_token_the_jwks_verifies(
    pki: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["token", "issue", "--key", str(pki / "officer-signing.key"), "--officer", "o-17"]
    argv += ["--checkpoint", "DPS", "--ttl", "30m", "--bind-cert", str(pki / "counter-DPS.pem")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.endswith("\n") and out.count("\n") == 1
    token = out.strip()
    jwks = jwt.PyJWKSet.from_dict(json.loads((pki / "jwks.json").read_text()))
    kid = jwt.get_unverified_header(token)["kid"]
    claims = jwt.decode(
        token, jwks[kid], algorithms=["ES256"], audience=DEFAULT_AUDIENCE, issuer=DEFAULT_ISSUER
    )
    cert = x509.load_pem_x509_certificate((pki / "counter-DPS.pem").read_bytes())
    assert claims["sub"] == "o-17" and claims["checkpoint"] == "DPS"
    assert claims["exp"] - claims["iat"] == 1800
    assert claims["cnf"] == {"x5t#S256": cert_thumbprint(cert)}


def test_token_issue_defaults_to_eight_hours(pki: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = str(pki / "officer-signing.key")
    argv = ["token", "issue", "--key", key, "--officer", "o-1", "--issuer", "I", "--audience", "A"]
    assert main(argv) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 8 * 3600
    assert (claims["iss"], claims["aud"]) == ("I", "A")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--key", "{pki}/missing.key"], "cannot read"),
        (["--key", "{pki}/ca.pem"], "private key"),
        (["--key", "{pki}/officer-signing.key", "--bind-cert", "{pki}/ca.key"], "certificate"),
        (["--key", "{pki}/officer-signing.key", "--checkpoint", "c g k"], "checkpoint"),
        (["--key", "{pki}/officer-signing.key", "--officer", "x" * 65], "officer id"),
    ],
)
def test_token_issue_refusals_exit_2(
    pki: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    argv = ["token", "issue", "--officer", "o-1", *(a.format(pki=pki) for a in extra)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("depscreen token issue:") and message in err


@pytest.mark.parametrize("missing", ["--key", "--officer"])
def test_token_issue_required_flags(
    pki: Path, capsys: pytest.CaptureFixture[str], missing: str
) -> None:
    flags = {"--key": str(pki / "officer-signing.key"), "--officer": "o-1"}
    del flags[missing]
    with pytest.raises(SystemExit) as exit_:
        main(["token", "issue", *(x for kv in flags.items() for x in kv)])
    assert exit_.value.code == 2
    assert missing in capsys.readouterr().err


CLIENTS = {
    "exercise run": ["exercise", "run", "--scenario", "ordinary-day-cgk", "--seed", "1"],
    "exercise drill": ["exercise", "drill", "--scenario", "ordinary-day-cgk", "--trainee", "T01"],
    "bench": ["bench", "--seconds", "0.1"],
}


@pytest.mark.parametrize("client", list(CLIENTS))
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--tls-cert", "{pki}/counter-CGK.pem"], "go together"),
        (["--tls-key", "{pki}/counter-CGK.key"], "go together"),
        (["--token", "a.b.c"], "never sent in clear"),
        (["--tls-ca", "{pki}/nothing-here.pem"], "cannot read --tls-ca"),
    ],
)
def test_every_client_refuses_flags_that_do_not_fit(
    pki: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    client: str,
    flags: list[str],
    message: str,
) -> None:
    argv = [*CLIENTS[client], *(f.format(pki=pki) for f in flags)]
    if client == "exercise run":
        argv += ["--out", str(tmp_path / "report")]
    # Refused before anything connects or starts: the default target has no server.
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "report").exists()


@pytest.mark.parametrize("with_token", [False, True], ids=["certificate", "and token"])
def test_the_bench_refuses_tls_material_as_it_makes_its_own(
    pki: Path, capsys: pytest.CaptureFixture[str], with_token: bool
) -> None:
    argv = ["bench", "--tls-ca", str(pki / "ca.pem"), "--tls-cert", str(pki / "auditor.pem")]
    argv += ["--tls-key", str(pki / "auditor.key")]
    if with_token:
        argv += ["--token", "a.b.c"]
    # Refused before any server starts: the bench's mTLS phase has certificates of its own.
    assert main(argv) == 2
    assert "makes its own certificates and officer token" in capsys.readouterr().err
