"""The package as a checkpoint server receives it: built, checked, installed with no source tree."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT
from departure_screening.v1 import screening_pb2 as pb
from support.builders import screening
from support.servers import ServerProcess

SHIPPED_RULES = "departure_screening/shipped/rules/"


@dataclass(frozen=True)
class Built:
    wheel: Path
    sdist: Path


@dataclass(frozen=True)
class Installed:
    bin: Path
    site: Path
    env: dict[str, str]  # nothing that would put the source tree on the path

    def run(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "depscreen"), *args],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return Built(wheel, sdist)


@pytest.fixture(scope="module")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    home = tmp_path_factory.mktemp("venv")
    venv.create(home, with_pip=True)
    bin_dir = home / "bin"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(built.wheel)],
        check=True,
        capture_output=True,
        env=env,
        timeout=900,
    )
    site = subprocess.run(
        [str(bin_dir / "python"), "-c", "import departure_screening as d; print(d.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
    ).stdout.strip()
    yield Installed(bin_dir, Path(site).parent, env)


def test_the_wheel_carries_exactly_the_rules_of_the_source_tree(built: Built) -> None:
    source = {
        p.relative_to(ROOT / "rules").as_posix(): p.read_bytes()
        for p in (ROOT / "rules").rglob("*")
        if p.is_file()
    }
    with zipfile.ZipFile(built.wheel) as wheel:
        shipped = {
            name.removeprefix(SHIPPED_RULES): wheel.read(name)
            for name in wheel.namelist()
            if name.startswith(SHIPPED_RULES)
        }
    assert "ruleset.yaml" in source and "tests/indicators.yaml" in source
    assert shipped == source


def test_sdist_and_wheel_pass_twine_check(built: Built) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(built.sdist), str(built.wheel)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_installed_package_is_not_the_source_tree(installed: Installed) -> None:
    assert ROOT not in installed.site.parents
    assert (installed.site / "shipped" / "rules" / "ruleset.yaml").is_file()
    assert not (installed.site / "shipped" / "rules").is_symlink()


def test_rules_validate_and_test_from_any_directory(installed: Installed, tmp_path: Path) -> None:
    validate = installed.run("rules", "validate", cwd=tmp_path)
    assert validate.returncode == 0, validate.stderr
    assert "imi-gr-1029-2017" in validate.stdout + validate.stderr
    tests = installed.run("rules", "test", cwd=tmp_path)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert " 0 failed" in tests.stdout


def test_serves_the_shipped_rules_from_an_empty_directory(
    installed: Installed, tmp_path: Path
) -> None:
    server = ServerProcess(
        store=None,
        command=(str(installed.bin / "depscreen"),),
        env=installed.env,
        cwd=tmp_path,
    )
    with server:
        assessment = (
            server.stub()
            .Screen(
                pb.ScreenRequest(
                    screening=screening(
                        trip__destination_country="KH",
                        trip__has_return_ticket=False,
                        declaration__purpose=pb.PURPOSE_WORK,
                    )
                ),
                timeout=30,
            )
            .assessment
        )
    assert assessment.ruleset_version.startswith("imi-gr-1029-2017@")
    assert "DESTINATION_WATCHLIST" in {i.code for i in assessment.indicators}
    # The embedded default store, created where the server was started.
    assert (tmp_path / "var" / "depscreen.db").is_file()


def test_a_server_install_leaves_the_report_libraries_out(
    installed: Installed, tmp_path: Path
) -> None:
    for library in ("matplotlib", "jinja2"):
        probe = subprocess.run(
            [str(installed.bin / "python"), "-c", f"import {library}"],
            env=installed.env,
            cwd=tmp_path,
            capture_output=True,
        )
        assert probe.returncode != 0, f"{library} came with a plain install"
    run = installed.run(
        "exercise",
        "run",
        "--scenario",
        "ordinary-day-cgk",
        "--seed",
        "1",
        "--target",
        "127.0.0.1:1",
        "--out",
        str(tmp_path / "report"),
        cwd=tmp_path,
    )
    assert run.returncode == 2
    assert "departure-screening[reports]" in run.stderr
    klass = installed.run(
        "exercise",
        "class-report",
        str(tmp_path / "drill-T01"),
        "--out",
        str(tmp_path / "class"),
        cwd=tmp_path,
    )
    assert klass.returncode == 2
    assert "the class report needs" in klass.stderr
    assert "departure-screening[reports]" in klass.stderr
