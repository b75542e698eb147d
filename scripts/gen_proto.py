"""Regenerate the committed protobuf and gRPC code from proto/.

Run from anywhere: ``python scripts/gen_proto.py``. The output lands in
``service/departure_screening/v1/`` (the path that matches the proto package),
with ``.pyi`` stubs for type checkers. ``tests/test_proto_fresh.py`` fails when
the committed files differ from what this script produces.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
OUT = ROOT / "service"


def well_known_includes() -> list[Path]:
    """Include paths for google/protobuf/* and google/{type,rpc}/* imports."""
    import google.rpc.status_pb2  # googleapis-common-protos ships the .proto files

    googleapis = Path(google.rpc.status_pb2.__file__).resolve().parent.parent.parent
    bundled = Path(grpc_tools.__file__).resolve().parent / "_proto"
    return [bundled, googleapis]


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.rglob("*.proto"))


def generate(out: Path = OUT) -> None:
    includes = [PROTO_ROOT, *well_known_includes()]
    args = ["protoc", *(f"-I{p}" for p in includes)]
    args += [f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}"]
    args += [str(p.relative_to(PROTO_ROOT)) for p in proto_files()]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for pkg in {p.parent.relative_to(PROTO_ROOT) for p in proto_files()}:
        init = out / pkg / "__init__.py"
        if not init.exists():
            init.write_text(
                '"""Generated protobuf code; regenerate with scripts/gen_proto.py."""\n'
            )


def build_image(path: Path) -> None:
    """Write a protoc descriptor set (a buf image) of proto/ with its imports."""
    includes = [PROTO_ROOT, *well_known_includes()]
    args = ["protoc", *(f"-I{p}" for p in includes)]
    args += ["--include_imports", "--include_source_info", f"--descriptor_set_out={path}"]
    args += [str(p.relative_to(PROTO_ROOT)) for p in proto_files()]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--image":
        build_image(Path(sys.argv[2]))
    else:
        generate()
