from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from support.podman import CONTAINER_DIR, ENV, podman, require, version


@pytest.fixture(scope="session")
def image_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``build-image --archive``: the image built as ``make image`` builds it, and its archive.

    Built once per run, from the working tree: about two minutes on 2 vCPUs.
    """
    for tool in ("mmdebstrap", "podman", "runc"):
        require(tool)
    archive = tmp_path_factory.mktemp("image") / "departure-screening.oci.tar"
    start = time.monotonic()
    done = subprocess.run(
        [str(CONTAINER_DIR / "build-image"), "--archive", str(archive)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, f"build-image failed:\n{done.stderr}{done.stdout}"
    print(f"{done.stdout.strip()} (fixture: {time.monotonic() - start:.0f} s)")
    return archive


@pytest.fixture(scope="session")
def image(image_archive: Path) -> str:
    tag = f"localhost/departure-screening:{version()}"
    podman("image", "exists", tag)
    return tag


@pytest.fixture(scope="session")
def postgresql_image() -> str:
    """``build-postgresql-image --reuse``: PostgreSQL from Debian's packages, for compose.

    Built as the service's image is (about three minutes), or kept when an image built from
    the same files is already there.
    """
    for tool in ("mmdebstrap", "podman", "runc"):
        require(tool)
    done = subprocess.run(
        [str(CONTAINER_DIR / "build-postgresql-image"), "--reuse"],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, f"build-postgresql-image failed:\n{done.stderr}{done.stdout}"
    print(done.stdout.strip())
    tag = "localhost/depscreen-postgresql:15"
    podman("image", "exists", tag)
    return tag
