"""A real Prometheus server for tests, scraping depscreen replicas on loopback.

``PrometheusProcess`` writes a temporary configuration (one scrape job, the
repository's alert rules), starts the ``prometheus`` binary on a free loopback
port with its storage in a temporary directory, waits until it is ready and
stops it at the end::

    with PrometheusProcess(scrape_targets=[f"127.0.0.1:{server.metrics_port}"]) as prom:
        prom.wait_for(lambda: prom.query('up{job="depscreen"}'))
        prom.query("sum by (mode) (depscreen_screenings_total)")

Scrapes and rule evaluations run every second so that a test sees data within
seconds. Rule groups that set their own ``interval`` (``1m`` in alerts.yml)
are evaluated at that same short interval, so every rule has been evaluated
(and has a health) within a short test.

The ``prometheus`` binary comes with the Debian package ``prometheus``; without
it the test fails with a message saying so, it never skips.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
ALERT_RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"

T = TypeVar("T")


class PrometheusQueryError(RuntimeError):
    """Prometheus answered an API call with ``status: error``."""

    def __init__(self, expr: str, error_type: str, error: str) -> None:
        super().__init__(f"{error_type}: {error} (query: {expr})")
        self.expr = expr
        self.error_type = error_type
        self.error = error


def prometheus_binary() -> str:
    """The path of ``prometheus``; fails the test when it is not installed."""
    path = shutil.which("prometheus")
    if path is None:
        pytest.fail(
            "the prometheus binary is not on PATH. Install it with the Debian package "
            "`prometheus` (apt-get install prometheus) to run the tests against a real "
            "Prometheus server."
        )
    return path


@dataclass
class PrometheusProcess:
    """``prometheus`` in a child process, scraping ``scrape_targets`` as job ``job``."""

    scrape_targets: Sequence[str]
    job: str = "depscreen"
    rule_files: Sequence[Path] = (ALERT_RULES,)
    interval: str = "1s"
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    workdir: Path | None = None
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        assert self.workdir is not None, "not started"
        return self.workdir / "prometheus.log"

    def start(self, timeout: float = 30.0) -> PrometheusProcess:
        binary = prometheus_binary()
        self._tmp = tempfile.TemporaryDirectory(prefix="prometheus-")
        self.workdir = Path(self._tmp.name)
        self.port = self.port or free_port()
        config = self._write_config()
        args = [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
            )
        try:
            self._wait_ready(timeout)
        except (RuntimeError, TimeoutError):
            message = self.log()
            self.stop()
            raise RuntimeError(f"prometheus did not become ready:\n{message}") from None
        return self

    def _write_config(self) -> Path:
        assert self.workdir is not None
        rules = []
        for n, source in enumerate(self.rule_files):
            document = yaml.safe_load(source.read_text(encoding="utf-8"))
            for group in document.get("groups", []):
                if "interval" in group:
                    group["interval"] = self.interval
            copy = self.workdir / f"rules-{n}-{source.name}"
            copy.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
            rules.append(str(copy))
        config = {
            "global": {
                "scrape_interval": self.interval,
                "scrape_timeout": self.interval,
                "evaluation_interval": self.interval,
            },
            "rule_files": rules,
            "scrape_configs": [
                {
                    "job_name": self.job,
                    "metrics_path": "/metrics",
                    "static_configs": [{"targets": list(self.scrape_targets)}],
                }
            ],
        }
        path = self.workdir / "prometheus.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return path

    def _wait_ready(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with status {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"prometheus not ready after {timeout}s")
            time.sleep(0.1)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except (AssertionError, FileNotFoundError):
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and remove its temporary files."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> PrometheusProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ HTTP API

    def api(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """The ``data`` of a call to ``/api/v1/<path>``; POSTs ``params`` when given."""
        url = f"{self.url}/api/v1/{path}"
        body = urllib.parse.urlencode(params).encode() if params is not None else None
        request = urllib.request.Request(url, data=body)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload = json.loads(response.read().decode())
        except urllib.error.HTTPError as error:
            # Bad queries come back as 400/422 with a JSON error body.
            try:
                payload = json.loads(error.read().decode())
            except ValueError:
                raise error from None
        if payload.get("status") != "success":
            raise PrometheusQueryError(
                (params or {}).get("query", path),
                str(payload.get("errorType", "")),
                str(payload.get("error", "")),
            )
        return payload["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query: the result as a list (a scalar or string becomes one item)."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return _as_list(self.api("query", params))

    def query_range(
        self, expr: str, start: float, end: float, step: float = 1.0
    ) -> list[dict[str, Any]]:
        """A range query: one ``{"metric", "values"}`` item per series."""
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step}"}
        return _as_list(self.api("query_range", params))

    def value(self, expr: str) -> float | None:
        """The value of a query returning at most one series (None when it returns none)."""
        result = self.query(expr)
        if not result:
            return None
        assert len(result) == 1, f"{expr} returned {len(result)} series"
        return float(result[0]["value"][1])

    def values_by(self, expr: str, *labels: str) -> dict[tuple[str, ...], float]:
        """``{(label values...): value}`` for each series of an instant query."""
        return {
            tuple(item["metric"].get(label, "") for label in labels): float(item["value"][1])
            for item in self.query(expr)
        }

    def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets (``health``, ``lastError``, ``scrapeUrl``...)."""
        active: list[dict[str, Any]] = self.api("targets")["activeTargets"]
        return active

    def rules(self) -> list[dict[str, Any]]:
        """The loaded rule groups, each with its ``rules`` (``health``, ``lastError``...)."""
        groups: list[dict[str, Any]] = self.api("rules")["groups"]
        return groups

    def wait_for(
        self, probe: Callable[[], T | None], timeout: float = 20.0, what: str = "a condition"
    ) -> T:
        """Poll ``probe`` every 0.2 s until it returns something truthy; return that."""
        deadline = time.monotonic() + timeout
        while True:
            result = probe()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"prometheus: {what} not met after {timeout}s")
            time.sleep(0.2)


def _as_list(data: Any) -> list[dict[str, Any]]:
    if data["resultType"] in ("scalar", "string"):
        return [{"metric": {}, "value": data["result"]}]
    result: list[dict[str, Any]] = data["result"]
    return result


__all__ = [
    "ALERT_RULES",
    "PrometheusProcess",
    "PrometheusQueryError",
    "prometheus_binary",
]
