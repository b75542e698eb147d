"""yamllint over deploy/ (the repository's .yamllint.yaml)."""

from __future__ import annotations

import subprocess

from support.podman import ROOT, venv_tool


def test_deploy_yaml_is_yamllint_clean() -> None:
    done = subprocess.run(
        [venv_tool("yamllint"), "--strict", "-f", "parsable", "deploy/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
