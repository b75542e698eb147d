"""``podman kube play`` of the single overlay: the rendered pod serves screenings.

podman plays Pods, Deployments, PersistentVolumeClaims and ConfigMaps, so the test stands
in for the cluster: the StatefulSet becomes its Pod and a claim for its volume claim
template, the Secrets (the operator's, never in the overlay) become host folders with the
same files, and the gRPC port is published on loopback. Everything else (image, user,
security context, environment, ruleset ConfigMap and its mount) is the rendered overlay's.
podman ignores ``grpc:`` probes; health is checked over the gRPC port here.
"""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.kustomize import render
from support.podman import ENV, podman, require, screen_once
from support.servers import free_port, wait_serving

pytestmark = pytest.mark.timeout(1500)  # may build the image first


def playable(rendered: str, folder: Path, port: int, suffix: str) -> list[dict[str, Any]]:
    played: list[dict[str, Any]] = []
    for doc in yaml.safe_load_all(rendered):
        if doc["kind"] == "ConfigMap":
            played.append(doc)
        if doc["kind"] != "StatefulSet":
            continue
        spec = doc["spec"]["template"]["spec"]
        for claim in doc["spec"]["volumeClaimTemplates"]:
            name = f"{claim['metadata']['name']}-{suffix}"
            played.append(
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": name},
                    "spec": claim["spec"],
                }
            )
            spec["volumes"].append(
                {"name": claim["metadata"]["name"], "persistentVolumeClaim": {"claimName": name}}
            )
        for volume in spec["volumes"]:
            if "secret" in volume:
                path = folder / volume.pop("secret")["secretName"]
                volume["hostPath"] = {"path": str(path), "type": "Directory"}
        container = spec["containers"][0]
        # Played in plaintext: mTLS itself is proven over real certificates in tests/access,
        # and here the test's client would need a device certificate for every call.
        container["env"] = [
            e for e in container["env"] if not e["name"].startswith("DEPSCREEN_TLS")
        ]
        container["args"] = ["--insecure"]
        for port_spec in container["ports"]:
            if port_spec["name"] == "grpc":
                port_spec.update(hostPort=port, hostIP="127.0.0.1")
        played.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"depscreen-{suffix}",
                    "labels": doc["spec"]["template"]["metadata"]["labels"],
                },
                "spec": spec,
            }
        )
    return played


def test_single_overlay_serves_under_kube_play(image: str, tmp_path: Path) -> None:
    require("catatonit")
    suffix = secrets.token_hex(3)
    key = tmp_path / "depscreen-pseudonym-key" / "pseudonym-key"
    key.parent.mkdir()
    key.write_text(secrets.token_hex(32))
    key.chmod(0o644)  # read by uid 10001 through the host folder
    (tmp_path / "depscreen-tls").mkdir()
    port = free_port()
    play = tmp_path / "play.yaml"
    play.write_text(yaml.safe_dump_all(playable(render("single"), tmp_path, port, suffix)))
    pod = f"depscreen-{suffix}"
    podman("kube", "play", str(play))
    try:
        try:
            wait_serving(f"127.0.0.1:{port}", timeout=60)
        except TimeoutError:
            raise AssertionError(
                subprocess.run(
                    ["podman", "pod", "logs", pod], env=ENV, capture_output=True, text=True
                ).stderr
            ) from None
        assert screen_once(f"127.0.0.1:{port}", "kube-play-1").assessment_id
        container = f"{pod}-depscreen"
        inspect = podman("inspect", container, "--format", "{{.HostConfig.ReadonlyRootfs}}")
        assert inspect == "true"
        assert podman("exec", container, "id", "-u") == "10001"
        rules = podman("exec", container, "ls", "/etc/depscreen/rules").split()
        assert rules == ["indicators.yaml", "ruleset.yaml"]
        state = podman("exec", container, "ls", "/var/lib/depscreen").split()
        assert "depscreen.db" in state and "depscreen.db.key" not in state
    finally:
        podman("kube", "down", str(play), check=False)
        podman("volume", "rm", "--force", f"state-{suffix}", check=False)
