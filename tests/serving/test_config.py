"""``depscreen serve`` settings: flags to config and back (the supervisor's workers)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import math
from pathlib import Path

import pytest
from departure_screening.access.control import AccessSettings
from departure_screening.serving.config import (
    ServeConfig,
    add_serve_arguments,
    serve_arguments,
    serve_config,
    serve_environment,
)
from hypothesis import given
from hypothesis import strategies as st


def test_a_worker_gets_back_every_setting_of_its_supervisor(tmp_path: Path) -> None:
    config = ServeConfig(
        listen="127.0.0.1:6001",
        store=f"sqlite:///{tmp_path / 'd.db'}",
        rules=tmp_path / "rules",
        checkpoints=("CGK", "DPS"),
        workers=7,
        max_watchers=9,
        watch_buffer=50,
        max_manifest_streams=4,
        max_commit_queue=5,
        max_call_wait_ms=75.0,
        grace_seconds=2.5,
        drain_seconds=0.5,
        log_format="json",
        max_connection_age_seconds=60.0,
        max_connection_age_grace_seconds=2.0,
        key_file=str(tmp_path / "k"),
        processes=3,
        rules_keys=str(tmp_path / "keys"),
        rules_signatures=2,
        rules_poll=0.5,
        shadow_rules=tmp_path / "shadow",
        access=AccessSettings(
            tls_cert=str(tmp_path / "s.pem"),
            tls_key=str(tmp_path / "s.key"),
            tls_client_ca=str(tmp_path / "ca.pem"),
            trust_domain="example.org",
            access_policy=str(tmp_path / "policy.yaml"),
            officer_jwks=str(tmp_path / "jwks.json"),
            officer_issuer="https://idp.example",
            officer_audience="depscreen",
            probe_listen="127.0.0.1:6002",
            insecure=True,
        ),
    )
    # Every setting but /metrics (the supervisor serves it) differs from the default,
    # so a flag left out would show.
    default = ServeConfig()
    for f in dataclasses.fields(ServeConfig):
        if not f.name.startswith("metrics_"):
            assert getattr(config, f.name) != getattr(default, f.name), f.name
    for f in dataclasses.fields(AccessSettings):
        assert getattr(config.access, f.name) != getattr(default.access, f.name), f.name
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser, environ=serve_environment(config))
    assert serve_config(parser.parse_args(serve_arguments(config))) == config


def test_max_connection_age_from_the_environment() -> None:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser, environ={"DEPSCREEN_MAX_CONNECTION_AGE_SECONDS": "600"})
    assert serve_config(parser.parse_args([])).max_connection_age_seconds == 600.0


@given(text=st.one_of(st.integers(-3, 10**6).map(str), st.text(max_size=6)))
def test_max_commit_queue_takes_a_whole_number_of_one_or_more_from_flag_or_environment(
    text: str,
) -> None:
    try:
        expected: int | None = int(text)
    except ValueError:
        expected = None
    if expected is not None and expected < 1:
        expected = None
    for args, environ in (
        (["--max-commit-queue", text], {}),
        ([], {"DEPSCREEN_MAX_COMMIT_QUEUE": text}),
    ):
        parser = argparse.ArgumentParser()
        add_serve_arguments(parser, environ=environ)
        if expected is None:
            with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
                parser.parse_args(args)
        else:
            assert serve_config(parser.parse_args(args)).max_commit_queue == expected


@given(
    text=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(-3, 10**6).map(str),
        st.text(max_size=6),
    )
)
def test_max_call_wait_takes_finite_milliseconds_above_zero_from_flag_or_environment(
    text: str,
) -> None:
    try:
        expected: float | None = float(text)
    except ValueError:
        expected = None
    if expected is not None and not (math.isfinite(expected) and expected > 0):
        expected = None
    for args, environ in (
        (["--max-call-wait-ms", text], {}),
        ([], {"DEPSCREEN_MAX_CALL_WAIT_MS": text}),
    ):
        parser = argparse.ArgumentParser()
        add_serve_arguments(parser, environ=environ)
        if expected is None:
            with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
                parser.parse_args(args)
        else:
            assert serve_config(parser.parse_args(args)).max_call_wait_ms == expected
