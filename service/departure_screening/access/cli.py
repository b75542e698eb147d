"""``depscreen certs init`` and ``depscreen token issue``: identities for trying mTLS out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from departure_screening.access.defaults import (
    DEFAULT_AUDIENCE,
    DEFAULT_ISSUER,
    DEFAULT_TOKEN_TTL,
    DEFAULT_TRUST_DOMAIN,
)

EXIT_OK, EXIT_USAGE = 0, 2

if TYPE_CHECKING:  # argparse's class is generic only to type checkers
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def add_access_parsers(commands: Subparsers) -> None:
    """Register ``certs`` and ``token`` on the main command line."""
    certs = commands.add_parser(
        "certs", help="development certificates for mutual TLS (not for production)"
    )
    certs.set_defaults(func=lambda _args: _usage(certs))
    init = certs.add_subparsers(dest="certs_command", metavar="COMMAND").add_parser(
        "init",
        help="write a development CA, server and device certificates, and a token signing key",
        description="Write a development CA (ca.pem, ca.key), a server certificate for "
        "localhost and 127.0.0.1 (server.pem, server.key), one device certificate per role "
        "and checkpoint (counter-CGK.pem, manifest-CGK.pem, supervisor-CGK.pem, auditor.pem, "
        "instructor.pem, each with its .key), an officer-token signing key "
        "(officer-signing.key) and its public JWKS (jwks.json). Keys are written with mode "
        "0600. A development CA is NOT for production: its key lies beside what it signs.",
    )
    init.add_argument("dir", metavar="DIR", type=Path, help="where to write (created if missing)")
    init.add_argument(
        "--trust-domain",
        default=DEFAULT_TRUST_DOMAIN,
        metavar="NAME",
        help="SPIFFE trust domain of the device identities (default %(default)s)",
    )
    init.add_argument(
        "--checkpoint",
        action="append",
        dest="checkpoints",
        metavar="CODE",
        help="a checkpoint to issue counter, manifest and supervisor certificates for; "
        "repeat for several (default CGK)",
    )
    init.add_argument(
        "--force",
        action="store_true",
        help="write into a directory that is not empty, replacing files of the same names",
    )
    init.set_defaults(func=_cmd_certs_init)

    token = commands.add_parser("token", help="officer tokens for trying the service out")
    token.set_defaults(func=lambda _args: _usage(token))
    issue = token.add_subparsers(dest="token_command", metavar="COMMAND").add_parser(
        "issue",
        help="print a signed officer token (JWT)",
        description="Print an officer token signed with --key: ES256 for an EC P-256 key, "
        "RS256 for an RSA key; its kid is the key's RFC 7638 thumbprint, as in the jwks.json "
        "that `depscreen certs init` writes.",
    )
    issue.add_argument("--key", required=True, metavar="PATH", help="signing key (PEM)")
    issue.add_argument("--officer", required=True, metavar="ID", help="the officer id (sub)")
    issue.add_argument("--checkpoint", metavar="CODE", help="bind the token to one checkpoint")
    issue.add_argument(
        "--ttl",
        type=_duration,
        default=DEFAULT_TOKEN_TTL,
        metavar="DURATION",
        help="lifetime, e.g. 8h, 30m, 1h30m (units d, h, m, s; default 8h)",
    )
    issue.add_argument(
        "--bind-cert",
        metavar="PEM",
        help="bind the token to this device certificate (cnf x5t#S256, RFC 8705)",
    )
    issue.add_argument(
        "--issuer", default=DEFAULT_ISSUER, metavar="ISS", help="iss (default %(default)s)"
    )
    issue.add_argument(
        "--audience", default=DEFAULT_AUDIENCE, metavar="AUD", help="aud (default %(default)s)"
    )
    issue.set_defaults(func=_cmd_token_issue)


def _duration(text: str) -> int:
    from departure_screening.access.tokens_issue import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cmd_certs_init(args: argparse.Namespace) -> int:
    # Imported here: the rest of the command line need not load cryptography.
    from departure_screening.access.devcerts import DEFAULT_CHECKPOINT, CertsError, init_dev_pki

    try:
        files = init_dev_pki(
            args.dir,
            trust_domain=args.trust_domain,
            checkpoints=args.checkpoints or [DEFAULT_CHECKPOINT],
            force=args.force,
        )
    except (CertsError, OSError) as exc:
        return _problem("certs init", exc)
    print(f"{len(files)} files written to {args.dir} (development only, not for production)")
    return EXIT_OK


def _cmd_token_issue(args: argparse.Namespace) -> int:
    from departure_screening.access.devcerts import CertsError, check_checkpoint
    from departure_screening.access.tokens_issue import (
        TokenError,
        issue_token,
        load_certificate,
        load_signing_key,
    )

    try:
        key = load_signing_key(_read(args.key))
        cert = load_certificate(_read(args.bind_cert)) if args.bind_cert else None
        checkpoint = check_checkpoint(args.checkpoint) if args.checkpoint is not None else None
        token = issue_token(
            key,
            officer=args.officer,
            ttl_seconds=args.ttl,
            issuer=args.issuer,
            audience=args.audience,
            checkpoint=checkpoint,
            bind_cert=cert,
        )
    except (TokenError, CertsError) as exc:
        return _problem("token issue", exc)
    print(token)
    return EXIT_OK


def _read(path: str) -> bytes:
    from departure_screening.access.tokens_issue import TokenError

    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise TokenError(f"cannot read {path}: {exc.strerror or exc}") from None


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def _problem(command: str, exc: Exception) -> int:
    print(f"depscreen {command}: {exc}", file=sys.stderr)
    return EXIT_USAGE
