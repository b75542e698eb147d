"""The Kubernetes overlays rendered by ``kubectl kustomize``, once per run each."""

from __future__ import annotations

import functools
import subprocess

from support.podman import ROOT, require

KUBERNETES = ROOT / "deploy" / "kubernetes"


@functools.cache
def render(overlay: str) -> str:
    require("kubectl")
    done = subprocess.run(
        ["kubectl", "kustomize", str(KUBERNETES / "overlays" / overlay)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
