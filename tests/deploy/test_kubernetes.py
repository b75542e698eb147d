"""deploy/kubernetes: both overlays render with kustomize and validate strictly against 1.30."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.kustomize import KUBERNETES, render
from support.podman import ROOT, venv_tool

OVERLAYS = ("single", "replicated")
PROBE_PORT = 50052
DRAIN_AND_GRACE = 15  # DEPSCREEN_DRAIN_SECONDS + DEPSCREEN_GRACE_SECONDS


def resources(overlay: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["kind"], r["metadata"]["name"]): r for r in yaml.safe_load_all(render(overlay))}


def workload(overlay: str) -> dict[str, Any]:
    kind = "StatefulSet" if overlay == "single" else "Deployment"
    return resources(overlay)[(kind, "depscreen")]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_renders_and_validates_strictly(overlay: str, tmp_path: Path) -> None:
    rendered = tmp_path / f"{overlay}.yaml"
    rendered.write_text(render(overlay))
    done = subprocess.run(
        [venv_tool("kubernetes-validate"), "--strict", "-k", "1.30.0", "--quiet", str(rendered)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pod_probes_security_and_resources(overlay: str) -> None:
    pod = workload(overlay)["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > DRAIN_AND_GRACE
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"]["port"] == PROBE_PORT
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    env = {e["name"]: e for e in container["env"]}
    assert (
        int(env["DEPSCREEN_DRAIN_SECONDS"]["value"]) + int(env["DEPSCREEN_GRACE_SECONDS"]["value"])
        == DRAIN_AND_GRACE
    )
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["key"]["secret"]["secretName"] == "depscreen-pseudonym-key"
    assert volumes["tls"]["secret"]["secretName"] == "depscreen-tls"
    assert volumes["rules"]["configMap"]["name"] == "depscreen-rules"


def test_single_is_one_statefulset_replica_on_sqlite_with_a_claim() -> None:
    sts = workload("single")
    assert sts["spec"]["replicas"] == 1
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "state"
    env = {e["name"]: e for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["DEPSCREEN_STORE"]["value"].startswith("sqlite:////var/lib/depscreen/")


def test_replicated_is_a_deployment_on_postgresql_with_pdb_and_hpa() -> None:
    found = resources("replicated")
    deployment = found[("Deployment", "depscreen")]
    assert deployment["spec"]["replicas"] >= 2
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["DEPSCREEN_STORE"]["valueFrom"]["secretKeyRef"]["name"] == "depscreen-store"
    assert found[("PodDisruptionBudget", "depscreen")]["spec"]["minAvailable"] == 1
    assert found[("HorizontalPodAutoscaler", "depscreen")]["spec"]["minReplicas"] >= 2
    egress = found[("NetworkPolicy", "depscreen-postgresql")]["spec"]["egress"]
    assert egress[0]["ports"] == [{"port": 5432, "protocol": "TCP"}]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_and_deny_by_default(overlay: str) -> None:
    found = resources(overlay)
    assert found[("Service", "depscreen-headless")]["spec"]["clusterIP"] == "None"
    assert found[("Service", "depscreen")]["spec"]["type"] == "ClusterIP"
    deny = found[("NetworkPolicy", "depscreen-default-deny")]["spec"]
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    allowed = found[("NetworkPolicy", "depscreen-allow")]["spec"]["ingress"]
    assert [rule["ports"][0]["port"] for rule in allowed] == ["grpc", "metrics"]


def test_the_configmap_ruleset_is_the_shipped_one() -> None:
    """kustomize reads no file outside its folder: base/rules is a copy of rules/."""
    copy = KUBERNETES / "base" / "rules"
    for name in ("ruleset.yaml", "indicators.yaml"):
        assert (copy / name).read_text() == (ROOT / "rules" / name).read_text(), (
            f"deploy/kubernetes/base/rules/{name} differs from rules/{name}: copy it again"
        )
