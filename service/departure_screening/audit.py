"""``depscreen audit``: check and prune the audit trail of a durable store.

``audit verify`` walks the hash chain over assessments and decisions and names the
first broken link (table, sequence number, record id). It prints the head of the
chain; keeping that line somewhere off the host lets a later check prove that the
chain was not rewritten as a whole.

``audit purge --older-than DAYS`` removes assessments whose ``assessed_at`` (when the
screening happened) is more than DAYS days ago, with their decisions and the group
alerts raised as long ago. Retention counts from when the data was collected, not
from the trip's departure date (exercises replay past departures). The chain stays
verifiable: purged records keep their links (digests only, no personal data), and a
purged start of the chain is folded into an anchor. Purge verifies the chain first
(on a snapshot, holding no lock) and refuses to run on a broken one; it then removes
records in short chunks, each ending with a purge event, so the service keeps
screening throughout and the chain verifies after every chunk. History indicators
look back up to the ruleset's windows (365 days for earlier postponements), so a
shorter retention shortens what they can see.

``audit backup --out PATH`` copies the store, online and from one snapshot, into a
new SQLite file (see ``store/backup.py``), verifies the copy's chain and prints its
head; ``depscreen serve --store sqlite:///PATH`` serves from it, with the store's
pseudonymisation key (never copied into the backup).

All open an existing store only, and never create or migrate one: a store URL
naming nothing exits 2 and leaves nothing behind. ``audit verify`` and ``audit
backup`` open a SQLite file read-only.

Exit codes: 0 success, 1 chain broken, 2 bad arguments or store unavailable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
import sys
from collections.abc import Callable
from typing import Any, TextIO

from departure_screening.errors import StoreUnavailable
from departure_screening.serving.config import DEFAULT_STORE, at_least_one
from departure_screening.store.backup import BackupReport, backup_store
from departure_screening.store.chain import VerifyReport
from departure_screening.store.factory import open_audit_store
from departure_screening.store.sqlbase import ChainBroken, PurgeReport, SchemaError

EXIT_OK = 0
EXIT_BROKEN = 1
EXIT_ERROR = 2


def verify_store(url: str) -> VerifyReport:
    store = open_audit_store(url)
    try:
        return store.verify_chain()
    finally:
        store.close()


def purge_store(
    url: str, older_than_days: int, *, now: dt.datetime | None = None, dry_run: bool = False
) -> PurgeReport:
    """Purge what was assessed more than ``older_than_days`` days before ``now``."""
    if older_than_days < 1:
        raise ValueError("--older-than must be at least 1 day")
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=older_than_days)
    store = open_audit_store(url, write=True)
    try:
        return store.purge(cutoff, dry_run=dry_run)
    finally:
        store.close()


def describe_verify(report: VerifyReport) -> str:
    if report.broken is not None:
        return (
            f"audit chain BROKEN at {report.broken}\n"
            f"({report.links_checked} links verified before it, from anchor seq "
            f"{report.anchor.seq})"
        )
    return (
        f"audit chain ok: {report.links_checked} links, {report.records_checked} records "
        f"verified after anchor seq {report.anchor.seq}\n"
        f"head seq {report.head.seq} hash {report.head.hash}"
    )


def describe_purge(report: PurgeReport) -> str:
    verb = "would remove" if report.dry_run else "removed"
    return (
        f"{verb} {report.assessments} assessments, {report.decisions} decisions and "
        f"{report.alerts} alerts assessed before {report.cutoff.isoformat()}\n"
        f"chain anchor at seq {report.anchor.seq} hash {report.anchor.hash}"
        + (f" ({report.links_folded} purged links folded)" if report.links_folded else "")
    )


def describe_backup(report: BackupReport) -> str:
    return f"{report.source_kind} store copied to {report.out}\n" + describe_verify(report.verify)


def _run(action: Callable[[], int], err: TextIO) -> int:
    try:
        return action()
    except (ValueError, StoreUnavailable, SchemaError) as e:
        print(f"depscreen audit: {e}", file=err)
        return EXIT_ERROR


def cmd_verify(args: argparse.Namespace) -> int:
    def action() -> int:
        report = verify_store(args.store)
        print(describe_verify(report))
        return EXIT_OK if report.ok else EXIT_BROKEN

    return _run(action, sys.stderr)


def cmd_purge(args: argparse.Namespace) -> int:
    def action() -> int:
        try:
            report = purge_store(args.store, args.older_than, dry_run=args.dry_run)
        except ChainBroken as e:
            print(describe_verify(e.report), file=sys.stderr)
            print("nothing purged: repair or investigate the chain first", file=sys.stderr)
            return EXIT_BROKEN
        print(describe_purge(report))
        return EXIT_OK

    return _run(action, sys.stderr)


def cmd_backup(args: argparse.Namespace) -> int:
    def action() -> int:
        try:
            report = backup_store(args.store, args.out)
        except (OSError, sqlite3.Error) as e:
            print(f"depscreen audit: cannot write the backup {args.out}: {e}", file=sys.stderr)
            return EXIT_ERROR
        print(describe_backup(report))
        return EXIT_OK if report.verify.ok else EXIT_BROKEN

    return _run(action, sys.stderr)


def add_audit_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``audit verify``, ``purge`` and ``backup`` on the CLI's sub-command parsers."""
    default_store = os.environ.get("DEPSCREEN_STORE", DEFAULT_STORE)
    audit: argparse.ArgumentParser = subparsers.add_parser(
        "audit", help="check or prune the audit trail of a store"
    )
    actions = audit.add_subparsers(dest="audit_command", required=True)

    verify = actions.add_parser("verify", help="verify the hash chain; names the first broken link")
    verify.set_defaults(func=cmd_verify)
    purge = actions.add_parser("purge", help="remove assessments assessed more than DAYS days ago")
    backup = actions.add_parser(
        "backup", help="copy the store, online and consistent, into a new SQLite file"
    )
    backup.add_argument(
        "--out", required=True, metavar="PATH", help="the SQLite file to write (must not exist)"
    )
    backup.set_defaults(func=cmd_backup)
    for action in (verify, purge, backup):
        action.add_argument(
            "--store",
            default=default_store,
            metavar="URL",
            help="sqlite:///PATH or postgresql://... (DEPSCREEN_STORE; default %(default)s)",
        )
    purge.add_argument(
        "--older-than",
        type=at_least_one,
        required=True,
        metavar="DAYS",
        help="remove what was assessed more than DAYS days ago",
    )
    purge.add_argument(
        "--dry-run", action="store_true", help="count what would be removed, remove nothing"
    )
    purge.set_defaults(func=cmd_purge)
    return audit
