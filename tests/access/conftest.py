"""An mTLS server on loopback, real certificates and officer tokens made here."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from departure_screening.access.control import AccessSettings
from departure_screening.serving.app import build_app
from departure_screening.serving.config import ServeConfig
from departure_screening.serving.server import RunningServer, serve
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc
from support import builders
from support.pki import Issued, Pki

MODES = {"live": pb.MODE_LIVE, "training": pb.MODE_TRAINING}


@dataclass
class TlsServer:
    running: RunningServer
    pki: Pki
    _devices: dict[tuple[str, str | None], Issued] = field(default_factory=dict)
    _channels: list[grpc.Channel] = field(default_factory=list)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.running.port}"

    def device(self, role: str, checkpoint: str | None = "CGK") -> Issued:
        """One certificate per role and checkpoint, made on first use."""
        key = (role, checkpoint)
        if key not in self._devices:
            self._devices[key] = self.pki.ca.device(role, checkpoint)
        return self._devices[key]

    def channel(self, client: Issued | None, root: bytes | None = None) -> grpc.Channel:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=root or self.pki.ca.cert_pem,
            private_key=client.key_pem if client else None,
            certificate_chain=client.cert_pem if client else None,
        )
        channel = grpc.secure_channel(self.target, credentials)
        self._channels.append(channel)
        return channel

    def stub(self, client: Issued | None) -> pb_grpc.ScreeningServiceStub:
        return pb_grpc.ScreeningServiceStub(self.channel(client))

    def as_role(self, device: str) -> pb_grpc.ScreeningServiceStub:
        """``role@CHECKPOINT`` or a national role, as in the policy's table tests."""
        role, _, checkpoint = device.partition("@")
        return self.stub(self.device(role, checkpoint or None))

    def sample(self, name: str, **labels: str) -> float:
        value = self.running.app.metrics.registry.get_sample_value(name, labels)
        return 0.0 if value is None else float(value)

    def close(self) -> None:
        for channel in self._channels:
            channel.close()
        self.running.stop(0)

    # -- making assessments to act on ----------------------------------------

    def assessment(self, checkpoint: str, mode: str) -> str:
        """A fresh assessment at ``checkpoint`` in ``mode``, screened by its counter."""
        stub = self.stub(self.device("counter", checkpoint))
        screening = builders.screening(checkpoint=checkpoint, mode=MODES[mode])
        response = stub.Screen(pb.ScreenRequest(screening=screening), timeout=10)
        return str(response.assessment.assessment_id)


def start_tls_server(pki: Pki, store: str = "memory:", **settings: Any) -> TlsServer:
    access = AccessSettings(**{**pki.serve_flags(), "probe_listen": "127.0.0.1:0", **settings})
    app = build_app(
        ServeConfig(listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", store=store, access=access)
    )
    return TlsServer(serve(app), pki)


@pytest.fixture(scope="module")
def module_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki.create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_server(module_pki: Pki) -> Iterator[TlsServer]:
    """One mTLS server for a module (tests make their own assessments)."""
    server = start_tls_server(module_pki)
    yield server
    server.close()


@pytest.fixture
def fresh_pki(tmp_path: Path) -> Pki:
    return Pki.create(tmp_path)


def bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)
