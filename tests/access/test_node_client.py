"""A Node.js client (@grpc/grpc-js) calls Screen over mutual TLS, and is refused without it.

The client is tests/access/node/screen.js, its packages pinned by the package-lock.json
beside it (installed with ``npm ci`` by ``scripts/node-deps``, which ``make test`` runs).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import google.rpc.status_pb2
import grpc
import pytest
from departure_screening.v1 import screening_pb2 as pb
from google.protobuf.json_format import MessageToDict
from support import builders
from support.pki import Issued, Pki

from .conftest import TlsServer

NODE_CLIENT = Path(__file__).parent / "node"
PROTO = Path(__file__).parents[2] / "proto"
# google/rpc and google/type: the .proto sources the googleapis-common-protos wheel carries.
GOOGLEAPIS = Path(google.rpc.status_pb2.__file__).parents[2]


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    assert path, "Node.js is needed (scripts/node-deps installs the client's packages)"
    assert (NODE_CLIENT / "node_modules" / "@grpc" / "grpc-js").is_dir(), (
        "run scripts/node-deps (npm ci in tests/access/node)"
    )
    return path


def _node_screen(
    node: str,
    tmp_path: Path,
    server: TlsServer,
    device: Issued | None,
    screening: pb.Screening,
    token: str | None = None,
) -> dict[str, Any]:
    files: dict[str, str | None] = {"ca": str(server.pki.client_ca), "cert": None, "key": None}
    if device is not None:
        cert, key = device.write(tmp_path, "node-device")
        files.update(cert=str(cert), key=str(key))
    call = {
        "target": server.target,
        "include_dirs": [str(PROTO), str(GOOGLEAPIS)],
        "token": token,
        "request": {"screening": MessageToDict(screening, preserving_proto_field_name=True)},
        **files,
    }
    request = tmp_path / "call.json"
    request.write_text(json.dumps(call))
    done = subprocess.run(
        [node, str(NODE_CLIENT / "screen.js"), str(request)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_a_node_client_screens_with_its_device_certificate_and_token(
    node: str, tmp_path: Path, tls_server: TlsServer, module_pki: Pki
) -> None:
    counter = tls_server.device("counter")
    screening = builders.screening(officer_id="")
    token = module_pki.issuer.token(officer="officer-node", cnf={"x5t#S256": counter.thumbprint})
    result = _node_screen(node, tmp_path, tls_server, counter, screening, token)
    assert result["ok"], result
    assessment = result["assessment"]
    assert assessment["request_id"] == screening.request_id
    assert assessment["checkpoint"] == "CGK"
    assert assessment["screened_by"] == {
        "device": "spiffe://imigrasi.go.id/checkpoint/CGK/counter/dev-01",
        "officer": "officer-node",
    }
    # Stored as the Python clients' screenings are: the service reads it back.
    stored = tls_server.stub(counter).GetAssessment(
        pb.GetAssessmentRequest(assessment_id=assessment["assessment_id"]), timeout=10
    )
    assert stored.assessment.screened_by.officer == "officer-node"


def test_a_node_client_without_a_certificate_is_refused_at_the_handshake(
    node: str, tmp_path: Path, tls_server: TlsServer
) -> None:
    screening = builders.screening(officer_id="")
    result = _node_screen(node, tmp_path, tls_server, None, screening)
    assert result["ok"] is False
    assert result["code"] == grpc.StatusCode.UNAVAILABLE.value[0]


def test_a_node_client_of_another_checkpoint_is_refused_by_the_policy(
    node: str, tmp_path: Path, tls_server: TlsServer
) -> None:
    bali = tls_server.device("counter", "DPS")
    result = _node_screen(node, tmp_path, tls_server, bali, builders.screening(officer_id=""))
    assert result["ok"] is False
    assert result["code"] == grpc.StatusCode.PERMISSION_DENIED.value[0]
