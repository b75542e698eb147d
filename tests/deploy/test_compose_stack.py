"""The shipped compose file brought up with podman-compose: the service on PostgreSQL.

Both images are built here from Debian's packages (``build-image``,
``build-postgresql-image``). The stack serves mutual TLS with the test's certificates,
screens a traveller, and the assessment is then in PostgreSQL, without the passport
number in clear.

podman 4.3 (Debian 12) runs a healthcheck only when asked (its timers need systemd),
and podman-compose waits for ``condition: service_healthy`` only on podman 4.6 or later.
So the test does what ``depends_on`` asks by hand: PostgreSQL first, its ``pg_isready``
healthcheck run until it passes, then the service, whose own healthcheck is run until
it passes.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc
from support.builders import screening
from support.pki import Pki
from support.podman import ENV, ROOT, logs, podman, venv_tool, version
from support.servers import free_port
from support.waiting import wait_for

COMPOSE = ROOT / "deploy" / "compose" / "compose.yaml"
SERVICE_UID = 10001
# Builds two images when the session has not yet (several minutes on a busy machine).
pytestmark = pytest.mark.timeout(1800)


@dataclass
class Stack:
    project: str
    directory: Path
    env: dict[str, str]
    pki: Pki
    grpc_port: int
    database_password: str

    def compose(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(
            [venv_tool("podman-compose"), "--project-name", self.project, *args],
            cwd=self.directory,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"podman-compose {' '.join(args)}:\n{done.stderr}{done.stdout}"
        return done.stdout

    def container(self, service: str) -> str:
        names = podman(
            "ps",
            "--all",
            "--format",
            "{{.Names}}",
            "--filter",
            f"label=io.podman.compose.project={self.project}",
            "--filter",
            f"label=io.podman.compose.service={service}",
        ).split()
        assert len(names) == 1, names
        return names[0]

    def wait_healthy(self, service: str, timeout: float) -> None:
        name = self.container(service)

        def healthy() -> bool:
            check = subprocess.run(
                ["podman", "healthcheck", "run", name], env=ENV, capture_output=True
            )
            return check.returncode == 0

        try:
            wait_for(healthy, timeout, interval=1)
        except AssertionError:
            raise AssertionError(f"{service} never healthy:\n{logs(name)}") from None

    def sql(self, query: str) -> str:
        return podman(
            "exec",
            "--env",
            f"PGPASSWORD={self.database_password}",
            self.container("postgresql"),
            "psql",
            "--no-align",
            "--tuples-only",
            "--host=127.0.0.1",
            "--username=depscreen",
            "--dbname=depscreen",
            "--command",
            query,
        )

    def stub(self) -> pb_grpc.ScreeningServiceStub:
        counter = self.pki.ca.device("counter", "CGK")
        credentials = grpc.ssl_channel_credentials(
            root_certificates=self.pki.ca.cert_pem,
            private_key=counter.key_pem,
            certificate_chain=counter.cert_pem,
        )
        channel = grpc.secure_channel(f"127.0.0.1:{self.grpc_port}", credentials)
        return pb_grpc.ScreeningServiceStub(channel)


def secret(path: Path, text: str, owner: int) -> None:
    """A secret file as a site makes it: readable by its container's user alone.

    podman-compose mounts secret files as they are (it ignores ``uid`` and ``mode``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chown(path, owner, owner)
    path.chmod(0o400)


@pytest.fixture(scope="module")
def stack(
    image: str, postgresql_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp("compose")
    # The shipped file as it is, beside this site's secrets (./secrets/, as its comment says).
    shutil.copy(COMPOSE, directory / "compose.yaml")
    postgres_uid = int(
        podman("image", "inspect", "--format", "{{.Config.User}}", postgresql_image).split(":")[0]
    )
    password = secrets.token_hex(24)
    secret(directory / "secrets" / "postgres-password", password + "\n", postgres_uid)
    secret(
        directory / "secrets" / "pgpass",
        f"postgresql:5432:depscreen:depscreen:{password}\n",
        SERVICE_UID,
    )
    secret(directory / "secrets" / "pseudonym.key", secrets.token_hex(32) + "\n", SERVICE_UID)
    tls = directory / "secrets" / "tls"
    tls.mkdir()
    pki = Pki.create(tls)
    os.chown(pki.server_key, SERVICE_UID, SERVICE_UID)
    pki.server_key.chmod(0o400)
    for public in (pki.server_cert, pki.client_ca):
        public.chmod(0o444)
    grpc_port = free_port()
    env = {
        **ENV,
        "DEPSCREEN_VERSION": version(),
        "DEPSCREEN_GRPC_PORT": str(grpc_port),
        "PROMETHEUS_PORT": str(free_port()),
        "GRAFANA_PORT": str(free_port()),
    }
    stack = Stack(
        f"depscreen-test-{secrets.token_hex(4)}", directory, env, pki, grpc_port, password
    )
    try:
        stack.compose("up", "--detach", "postgresql")
        stack.wait_healthy("postgresql", timeout=90)
        stack.compose("up", "--detach")
        stack.wait_healthy("depscreen", timeout=90)
        yield stack
    finally:
        stack.compose("down", "--volumes", "--timeout", "30")
    left = podman(
        "ps", "--all", "--quiet", "--filter", f"label=io.podman.compose.project={stack.project}"
    )
    assert not left, f"containers left after down: {left}"
    volumes = podman(
        "volume", "ls", "--quiet", "--filter", f"label=io.podman.compose.project={stack.project}"
    )
    assert not volumes, f"volumes left after down: {volumes}"


def test_default_stack_is_the_service_on_postgresql(stack: Stack) -> None:
    running = json.loads(
        podman(
            "ps",
            "--format",
            "json",
            "--filter",
            f"label=io.podman.compose.project={stack.project}",
        )
    )
    # Prometheus and Grafana only come with the profile "monitoring".
    assert {c["Labels"]["io.podman.compose.service"] for c in running} == {
        "depscreen",
        "postgresql",
    }
    # State on the named volumes (the ones down --volumes must remove).
    volumes = podman(
        "volume",
        "ls",
        "--format",
        "{{.Name}}",
        "--filter",
        f"label=io.podman.compose.project={stack.project}",
    ).split()
    assert sorted(volumes) == [f"{stack.project}_postgresql", f"{stack.project}_state"]
    inspect = json.loads(podman("container", "inspect", stack.container("depscreen")))[0]
    assert inspect["HostConfig"]["ReadonlyRootfs"] is True
    assert inspect["Config"]["User"] == f"{SERVICE_UID}:{SERVICE_UID}"


def test_screens_over_mtls_into_postgresql(stack: Stack) -> None:
    stub = stack.stub()
    traveller = screening(request_id=f"compose-{secrets.token_hex(4)}")
    assessment = stub.Screen(pb.ScreenRequest(screening=traveller), timeout=30).assessment
    assert assessment.assessment_id
    again = stub.GetAssessment(
        pb.GetAssessmentRequest(assessment_id=assessment.assessment_id), timeout=30
    ).assessment
    assert again.assessment_id == assessment.assessment_id
    assert again.screened_by.device.endswith("/checkpoint/CGK/counter/dev-01")
    # In PostgreSQL itself, with its request id, and the passport number nowhere in clear.
    row = stack.sql(
        f"SELECT request_id FROM assessments WHERE assessment_id = '{assessment.assessment_id}'"
    )
    assert row == traveller.request_id
    dump = podman(
        "exec",
        "--env",
        f"PGPASSWORD={stack.database_password}",
        stack.container("postgresql"),
        "pg_dump",
        "--data-only",
        "--host=127.0.0.1",
        "--username=depscreen",
        "depscreen",
    )
    assert assessment.assessment_id in dump
    assert traveller.traveller.passport_number not in dump


def test_plaintext_is_refused(stack: Stack) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{stack.grpc_port}") as channel:
        stub = pb_grpc.ScreeningServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.ListIndicators(pb.ListIndicatorsRequest(), timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
