"""``depscreen serve`` settings: flags to config and back (the supervisor's workers)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from departure_screening.serving.config import (
    ServeConfig,
    add_serve_arguments,
    serve_arguments,
    serve_config,
    serve_environment,
)


def test_a_worker_gets_back_every_setting_of_its_supervisor(tmp_path: Path) -> None:
    config = ServeConfig(
        listen="127.0.0.1:6001",
        store=f"sqlite:///{tmp_path / 'd.db'}",
        rules=tmp_path / "rules",
        checkpoints=("CGK", "DPS"),
        workers=7,
        max_watchers=9,
        max_manifest_streams=4,
        grace_seconds=2.5,
        drain_seconds=0.5,
        log_format="json",
        max_connection_age_seconds=60.0,
        max_connection_age_grace_seconds=2.0,
        key_file=str(tmp_path / "k"),
        processes=3,
    )
    # Every setting but /metrics (the supervisor serves it) differs from the default,
    # so a flag left out would show.
    default = ServeConfig()
    for f in dataclasses.fields(ServeConfig):
        if f.name != "metrics_listen":
            assert getattr(config, f.name) != getattr(default, f.name), f.name
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser, environ=serve_environment(config))
    assert serve_config(parser.parse_args(serve_arguments(config))) == config
