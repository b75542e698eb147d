"""``buf lint`` (STANDARD) on an image of proto/ built with protoc."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PROTO = "departure_screening/v1/screening.proto"


def _buf() -> str:
    found = shutil.which("buf") or str(Path(sys.executable).parent / "buf")
    assert Path(found).exists(), "buf not found: install the dev group (buf-bin)"
    return found


def _lint(proto_root: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    spec = importlib.util.spec_from_file_location("gen_proto", ROOT / "scripts" / "gen_proto.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    gen.PROTO_ROOT = proto_root
    image = tmp_path / "image.binpb"
    gen.build_image(image)
    return subprocess.run(
        [_buf(), "lint", str(image), "--path", PROTO, "--config", str(ROOT / "buf.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )


def test_proto_is_lint_clean(tmp_path: Path) -> None:
    result = _lint(ROOT / "proto", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_lint_catches_a_style_violation(tmp_path: Path) -> None:
    broken = tmp_path / "proto"
    shutil.copytree(ROOT / "proto", broken)
    path = broken / PROTO
    path.write_text(path.read_text().replace("string note = 4;", "string Note = 4;"))
    result = _lint(broken, tmp_path)
    assert result.returncode != 0
    assert 'Field name "Note" should be lower_snake_case' in result.stdout
