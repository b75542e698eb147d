"""``depscreen rules keygen``, ``bundle`` and ``verify``: a ruleset signed before it goes live."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from departure_screening.rules_backtest import add_backtest_parser, add_shadow_report_parser
from departure_screening.screening.bundle import (
    BundleError,
    keygen,
    load_public_keys,
    load_signing_key,
    make_bundle,
    read_bundle,
    verify,
)
from departure_screening.screening.ruleset import RulesetError
from departure_screening.serving.config import at_least_one


def _cmd_keygen(args: argparse.Namespace) -> int:
    try:
        key, pub = keygen(Path(args.out))
    except (BundleError, OSError) as exc:
        print(f"depscreen rules keygen: {exc}", file=sys.stderr)
        return 1
    print(f"private key {key} (keep it secret), public key {pub}")
    return 0


def _cmd_bundle(args: argparse.Namespace) -> int:
    try:
        keys = [load_signing_key(Path(k)) for k in args.sign_key]
        data = make_bundle(Path(args.dir), keys, note=args.note)
    except RulesetError as exc:
        print(f"depscreen rules bundle: {args.dir}: {exc}", file=sys.stderr)
        return 1
    except BundleError as exc:
        print(f"depscreen rules bundle: {exc}", file=sys.stderr)
        return 1
    out = Path(args.out)
    partial = out.with_name(out.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, out)  # a watcher of ``out`` never sees half a bundle
    bundle = read_bundle(out)
    print(f"{out}: {bundle.version}, {len(bundle.signatures)} signature(s)")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    try:
        bundle = read_bundle(Path(args.path))
        signers = verify(bundle, load_public_keys(Path(args.keys)), args.require)
    except BundleError as exc:
        print(f"depscreen rules verify: {args.path}: refused: {exc}", file=sys.stderr)
        return 1
    print(f"{args.path}: {bundle.version}, signed by {', '.join(sorted(signers)) or 'no one'}")
    return 0


def add_rules_lifecycle_parsers(rules: Any) -> None:
    keygen_parser = rules.add_parser("keygen", help="write an Ed25519 key pair for signing rules")
    keygen_parser.add_argument(
        "--out", required=True, metavar="PREFIX", help="writes PREFIX.key and PREFIX.pub"
    )
    keygen_parser.set_defaults(func=_cmd_keygen)

    bundle = rules.add_parser("bundle", help="write a ruleset and its tests as one signed file")
    bundle.add_argument("dir", help="the ruleset directory")
    bundle.add_argument("--out", required=True, metavar="FILE", help="the bundle to write")
    bundle.add_argument(
        "--sign-key",
        action="append",
        default=[],
        metavar="KEY",
        help="a private key to sign with; repeat for each signer",
    )
    bundle.add_argument("--note", default="", metavar="TEXT", help="why this version exists")
    bundle.set_defaults(func=_cmd_bundle)

    verify_parser = rules.add_parser("verify", help="check a bundle's files and signatures")
    verify_parser.add_argument("path", help="the bundle")
    verify_parser.add_argument(
        "--keys", required=True, metavar="DIR", help="the trusted public keys (*.pub)"
    )
    verify_parser.add_argument(
        "--require",
        type=at_least_one,
        default=1,
        metavar="N",
        help="valid signatures by distinct keys required (default %(default)s)",
    )
    verify_parser.set_defaults(func=_cmd_verify)
    add_backtest_parser(rules)
    add_shadow_report_parser(rules)
