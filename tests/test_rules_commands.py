"""``depscreen rules keygen | bundle | verify``, and a server that takes only signed rules."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from departure_screening.screening.ruleset import default_rules_dir, load_ruleset
from departure_screening.v1 import screening_pb2 as pb
from support.builders import screening
from support.servers import ServerProcess, free_port


def depscreen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "departure_screening", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two trusted keys, and bundles signed by both and by one of them."""
    root = tmp_path_factory.mktemp("signing")
    keys = root / "trusted"
    keys.mkdir()
    for name in ("analyst", "director"):
        assert depscreen("rules", "keygen", "--out", str(keys / name)).returncode == 0
    both, one = root / "both.bundle", root / "one.bundle"
    result = depscreen(
        "rules", "bundle", str(default_rules_dir()), "--out", str(both),
        "--sign-key", str(keys / "analyst.key"), "--sign-key", str(keys / "director.key"),
        "--note", "weights reviewed",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    result = depscreen(
        "rules", "bundle", str(default_rules_dir()), "--out", str(one),
        "--sign-key", str(keys / "analyst.key"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return {"keys": keys, "both": both, "one": one, "root": root}


def test_verify_counts_distinct_signers(signed: dict[str, Path]) -> None:
    ok = depscreen("rules", "verify", str(signed["both"]), "--keys", str(signed["keys"]),
                   "--require", "2")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert load_ruleset(default_rules_dir()).version in ok.stdout
    short = depscreen("rules", "verify", str(signed["one"]), "--keys", str(signed["keys"]),
                      "--require", "2")  # fmt: skip
    assert short.returncode == 1
    assert "1 valid signature(s) by known keys, 2 required" in short.stderr


def test_verify_refuses_a_bundle_changed_after_signing(
    signed: dict[str, Path], tmp_path: Path
) -> None:
    tampered = tmp_path / "tampered.bundle"
    out = io.BytesIO()
    with zipfile.ZipFile(signed["both"]) as old, zipfile.ZipFile(out, "w") as new:
        for name in old.namelist():
            data = old.read(name)
            if name == "indicators.yaml":
                data = data.replace(b"weight: 20", b"weight: 2", 1)
            new.writestr(name, data)
    tampered.write_bytes(out.getvalue())
    result = depscreen("rules", "verify", str(tampered), "--keys", str(signed["keys"]))
    assert result.returncode == 1
    assert "indicators.yaml: does not match its manifest hash" in result.stderr


def test_validate_and_test_take_a_bundle(signed: dict[str, Path]) -> None:
    validate = depscreen("rules", "validate", str(signed["both"]))
    assert validate.returncode == 0, validate.stdout + validate.stderr
    tests = depscreen("rules", "test", str(signed["both"]))
    assert tests.returncode == 0, tests.stdout
    assert " 0 failed" in tests.stdout


def test_a_server_requiring_two_signatures_serves_the_bundle_signed_twice(
    signed: dict[str, Path], tmp_path: Path
) -> None:
    server = ServerProcess(
        store=f"sqlite:///{tmp_path}/s.db",
        extra_args=[
            "--rules",
            str(signed["both"]),
            "--rules-keys",
            str(signed["keys"]),
            "--rules-signatures",
            "2",
        ],
    )
    with server:
        assessment = server.stub().Screen(pb.ScreenRequest(screening=screening())).assessment
    assert assessment.ruleset_version == load_ruleset(default_rules_dir()).version


@pytest.mark.parametrize(
    ("rules", "reason"),
    [
        ("one", "1 valid signature(s) by known keys, 2 required"),
        ("directory", "a directory carries no signatures"),
    ],
)
def test_a_server_refuses_to_start_on_rules_short_of_signatures(
    signed: dict[str, Path], tmp_path: Path, rules: str, reason: str
) -> None:
    path = str(default_rules_dir()) if rules == "directory" else str(signed[rules])
    result = depscreen(
        "serve", "--listen", f"127.0.0.1:{free_port()}", "--metrics-listen",
        f"127.0.0.1:{free_port()}", "--store", f"sqlite:///{tmp_path}/s.db",
        "--rules", path, "--rules-keys", str(signed["keys"]), "--rules-signatures", "2",
    )  # fmt: skip
    assert result.returncode == 2
    assert reason in result.stderr


def test_signatures_without_keys_are_refused_at_start(tmp_path: Path) -> None:
    result = depscreen("serve", "--store", f"sqlite:///{tmp_path}/s.db", "--rules-signatures", "1")
    assert result.returncode == 2
    assert "--rules-signatures needs --rules-keys" in result.stderr
