"""The committed generated code is exactly what scripts/gen_proto.py produces."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from conftest import ROOT


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_proto", ROOT / "scripts" / "gen_proto.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    _generator().generate(tmp_path)
    committed = ROOT / "service" / "departure_screening" / "v1"
    fresh = tmp_path / "departure_screening" / "v1"
    names = sorted(p.name for p in fresh.iterdir() if p.is_file())
    assert {"screening_pb2.py", "screening_pb2.pyi", "screening_pb2_grpc.py"} <= set(names)
    stale = [n for n in names if (committed / n).read_bytes() != (fresh / n).read_bytes()]
    assert not stale, f"regenerate with `python scripts/gen_proto.py`: {stale} differ"
