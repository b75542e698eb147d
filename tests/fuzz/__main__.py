"""Run one harness under atheris: ``python -m tests.fuzz NAME [libFuzzer flags] [corpus dirs]``.

The project's own code (and the YAML parser the ruleset loader feeds) is imported
under atheris' instrumentation, so libFuzzer is guided by its coverage. A crash is
written as ``crash-<sha1>`` under ``-artifact_prefix``; turn it into a regression
test (see README, "Fuzzing").
"""

from __future__ import annotations

import importlib
import sys

import atheris

HARNESSES = (
    "request_path",
    "ruleset_loader",
    "bundle_reader",
    "officer_token",
    "device_certificate",
)
# The token verifier's JOSE library is Python too; the certificate parser is not (Rust).
# zipfile: the bundle reader's archive parsing is where hostile bundles go first.
INSTRUMENTED = ["departure_screening", "yaml", "zipfile", "jwt"]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in HARNESSES:
        print(f"usage: python -m tests.fuzz {{{','.join(HARNESSES)}}} [libFuzzer flags]")
        return 2
    name, flags = argv[0], argv[1:]
    with atheris.instrument_imports(include=INSTRUMENTED):
        import departure_screening.serving.app  # noqa: F401  (everything a harness reaches)
        import jwt  # noqa: F401
        import yaml  # noqa: F401
    module = importlib.import_module(f"{__package__}.{name}")
    atheris.Setup([f"fuzz-{name}", *flags], module.TestOneInput)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
