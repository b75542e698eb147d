"""Fixtures of the identity tests: development PKIs, written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from departure_screening.access.devcerts import init_dev_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A development PKI for the checkpoints CGK and DPS."""
    directory = tmp_path_factory.mktemp("pki") / "dev"
    init_dev_pki(directory, checkpoints=["CGK", "DPS"])
    return directory


@pytest.fixture(scope="session")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second, unrelated development PKI: its certificates must not pass for ``pki``'s."""
    directory = tmp_path_factory.mktemp("pki") / "other"
    init_dev_pki(directory)
    return directory
