"""depscreen.service started by systemd, as PID 1 of a podman container: it reaches READY=1.

The container's root filesystem is Debian's (mmdebstrap, with systemd) plus the
image's /opt/depscreen, the unit as shipped, a key and development TLS material
that LoadCredential= copies. A unit of Type=notify is "active" only once the server has
sent READY=1; "activating" until then.
"""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Iterator

import pytest
from departure_screening.access.devcerts import init_dev_pki
from support.podman import ENV, podman, require

from .test_systemd_unit import UNIT

pytestmark = pytest.mark.timeout(1500)  # builds two root filesystems on a busy machine
TEST_IMAGE = "localhost/depscreen-systemd-test:latest"


@pytest.fixture(scope="module")
def systemd_image(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require("mmdebstrap")
    work = tmp_path_factory.mktemp("systemd-image")
    mounted = podman("image", "mount", image)
    key = secrets.token_hex(32)
    # Real TLS material: the unit serves mTLS, and refuses to start on a bad certificate.
    pki = work / "pki"
    init_dev_pki(pki, checkpoints=["CGK"])
    hooks = [
        f'mkdir -p "$1/opt" && cp -a {mounted}/opt/depscreen "$1/opt/"',
        f'cp {UNIT} "$1/etc/systemd/system/depscreen.service"',
        'chroot "$1" systemctl enable depscreen.service',
        'mkdir -p "$1/etc/depscreen/tls"',
        f'echo {key} > "$1/etc/depscreen/pseudonym.key"',
        f'cp {pki}/server.key "$1/etc/depscreen/tls/server.key"',
        f'cp {pki}/server.pem "$1/etc/depscreen/tls/server.pem"',
        f'cp {pki}/ca.pem "$1/etc/depscreen/tls/client-ca.pem"',
        'chmod 0600 "$1/etc/depscreen/pseudonym.key" "$1/etc/depscreen/tls/server.key"',
    ]
    try:
        done = subprocess.run(
            [
                "mmdebstrap",
                "--quiet",
                "--variant=essential",
                "--mode=root",
                "--include=systemd,systemd-sysv,python3,libstdc++6,ca-certificates",
                "--dpkgopt=path-exclude=/usr/share/man/*",
                "--dpkgopt=path-exclude=/usr/share/doc/*",
                *(f"--customize-hook={hook}" for hook in hooks),
                "bookworm",
                str(work / "rootfs.tar"),
            ],
            capture_output=True,
            text=True,
            timeout=1200,
        )
    finally:
        podman("image", "unmount", image, check=False)
    assert done.returncode == 0, done.stderr
    (work / "Containerfile").write_text(
        'FROM scratch\nADD rootfs.tar /\nSTOPSIGNAL SIGRTMIN+3\nCMD ["/sbin/init"]\n'
    )
    podman("build", "--quiet", "--network=none", "--pull=never", "-t", TEST_IMAGE, str(work))
    yield TEST_IMAGE
    podman("rmi", "--force", TEST_IMAGE, check=False)


def unit_state(name: str) -> dict[str, str]:
    out = podman(
        "exec",
        name,
        "systemctl",
        "show",
        "depscreen.service",
        "--property=ActiveState,SubState,Result,Type,User,ExecMainStatus",
        check=False,
    )
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def test_systemd_starts_the_unit_and_it_reaches_ready(systemd_image: str) -> None:
    name = f"depscreen-systemd-{secrets.token_hex(3)}"
    podman("run", "--detach", "--name", name, "--systemd=always", systemd_image)
    try:
        deadline = time.monotonic() + 90
        state: dict[str, str] = {}
        while time.monotonic() < deadline:
            state = unit_state(name)
            if state.get("ActiveState") in ("active", "failed"):
                break
            time.sleep(1)
        journal = podman(
            "exec", name, "journalctl", "--no-pager", "-u", "depscreen.service", check=False
        )
        assert state.get("ActiveState") == "active", f"{state}\n{journal}"
        assert state["SubState"] == "running"
        assert state["Type"] == "notify"
        # The dynamic user, not root.
        pid = podman("exec", name, "systemctl", "show", "-p", "MainPID", "--value", "depscreen")
        uid = podman("exec", name, "stat", "-c", "%u", f"/proc/{pid}")
        assert uid != "0", journal
    finally:
        subprocess.run(["podman", "rm", "--force", name], env=ENV, capture_output=True)
