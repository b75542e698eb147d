"""deploy/compose/compose.yaml against the compose specification, and what it must hold."""

from __future__ import annotations

import subprocess
from typing import Any

import yaml
from support.podman import ROOT, venv_tool

COMPOSE = ROOT / "deploy" / "compose" / "compose.yaml"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_valid_against_the_compose_specification() -> None:
    done = subprocess.run(
        [
            venv_tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_service_waits_for_a_healthy_postgresql() -> None:
    services = compose()["services"]
    assert services["depscreen"]["depends_on"]["postgresql"]["condition"] == "service_healthy"
    assert services["postgresql"]["healthcheck"]["test"][1] == "pg_isready"
    assert services["depscreen"]["environment"]["DEPSCREEN_STORE"].startswith("postgresql://")


def test_secrets_are_files_and_state_is_on_named_volumes() -> None:
    spec = compose()
    assert set(spec["secrets"]) == {
        "pseudonym_key",
        "pgpass",
        "postgres_password",
        "tls_cert",
        "tls_key",
        "tls_client_ca",
    }
    assert all(set(s) == {"file"} for s in spec["secrets"].values())
    assert "state:/var/lib/depscreen" in spec["services"]["depscreen"]["volumes"]
    assert set(spec["volumes"]) == {"state", "postgresql", "prometheus", "grafana"}
    # Nothing secret in the file itself.
    text = COMPOSE.read_text().lower()
    assert "password:" not in text.replace("postgres_password:", "")


def test_monitoring_profile_uses_the_shipped_configuration() -> None:
    services = compose()["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"]
    mounts = services["prometheus"]["volumes"] + services["grafana"]["volumes"]
    for shipped in (
        "../prometheus/prometheus.yml",
        "../prometheus/alerts.yml",
        "../grafana/provisioning",
        "../grafana/dashboards",
    ):
        assert any(m.startswith(shipped + ":") for m in mounts), shipped
        assert (COMPOSE.parent / shipped).exists()
