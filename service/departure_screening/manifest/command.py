"""``depscreen manifest screen FILE… --checkpoint CODE --out DIR``.

Reads every file first: a file with a syntax error is named with the segment and its
position and nothing of it is screened (exit status 2 once the others are done). The
command authenticates as the ``manifest`` role of the access policy when given that
device's certificate (``--tls-cert``/``--tls-key``/``--tls-ca``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import grpc
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from departure_screening.access.client import (
    ClientConfigError,
    add_client_arguments,
    client_credentials,
    open_channel,
)
from departure_screening.manifest.requests import MODES
from departure_screening.manifest.screen import FlightJob, file_digest, screen_flight
from departure_screening.paxlst import PaxlstSyntaxError, read_paxlst
from departure_screening.v1 import screening_pb2_grpc as pb_grpc

DEFAULT_TARGET = "127.0.0.1:50051"


def add_manifest_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    manifest = commands.add_parser(
        "manifest", help="screen airline passenger lists (PAXLST) before the counter"
    ).add_subparsers(dest="manifest_command", required=True)
    screen = manifest.add_parser(
        "screen",
        help="preliminary screenings of PAXLST files; a heads-up list per flight",
        description="Streams each flight's passengers through ScreenManifest as preliminary "
        "screenings and writes DIR/<flight>-<date>/headsup.json, .html and .csv. For "
        "examination at the counter, not a decision.",
    )
    screen.add_argument("files", nargs="+", metavar="FILE", help="PAXLST interchange files")
    screen.add_argument("--checkpoint", required=True, metavar="CODE")
    screen.add_argument("--mode", choices=sorted(MODES), default="live")
    screen.add_argument(
        "--target",
        default=DEFAULT_TARGET,
        metavar="HOST:PORT",
        help="the screening service (default %(default)s)",
    )
    add_client_arguments(screen)
    screen.add_argument("--out", required=True, type=Path, metavar="DIR")
    screen.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    screen.set_defaults(func=cmd_manifest_screen)


def _read_files(paths: list[str], console: Console) -> tuple[list[FlightJob], int, bool]:
    """The flights of every readable file, the crew lists skipped, and whether any failed."""
    jobs: list[FlightJob] = []
    crew = 0
    failed = False
    for name in paths:
        try:
            data = Path(name).read_bytes()
            read = read_paxlst(data)
        except OSError as exc:
            console.print(f"{name}: cannot read: {exc.strerror or exc}", markup=False)
            failed = True
            continue
        except PaxlstSyntaxError as exc:
            console.print(
                f"{name}: {exc.reason}: segment {exc.segment or '?'} #{exc.index}"
                f" at byte {exc.offset}; nothing of this file was screened",
                markup=False,
            )
            failed = True
            continue
        crew += read.crew_lists_skipped
        digest = file_digest(data)
        jobs += [FlightJob(digest, m) for m in read.manifests]
    return jobs, crew, failed


def cmd_manifest_screen(args: argparse.Namespace) -> int:
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        credentials = client_credentials(args)
    except ClientConfigError as exc:
        errors.print(f"depscreen manifest screen: {exc}", markup=False)
        return 2
    jobs, crew, failed = _read_files(args.files, errors)
    summaries: list[dict[str, Any]] = []
    total = sum(len(j.manifest.passengers) for j in jobs)
    channel = open_channel(args.target, credentials)
    try:
        stub = pb_grpc.ScreeningServiceStub(channel)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=errors,
            transient=True,
        ) as progress:
            task = progress.add_task("passengers", total=total)
            for job in jobs:
                flight = job.manifest.flight
                progress.update(task, description=f"{flight.flight_number} {flight.departure_date}")
                headsup = screen_flight(
                    stub,
                    job,
                    checkpoint=args.checkpoint,
                    mode=args.mode,
                    advance=lambda: progress.advance(task),
                )
                target = headsup.write(args.out)
                document = headsup.to_json()
                summaries.append(
                    {
                        "flight": document["flight"],
                        "departure_date": document["departure_date"],
                        "passengers": document["passengers"],
                        "screened": document["screened"],
                        "rejected": len(document["rejected"]),
                        "bands": document["bands"],
                        "shared_bookings": len(document["bookings"]),
                        "out": str(target),
                    }
                )
    except grpc.RpcError as exc:
        code = exc.code().name if exc.code() else "UNKNOWN"
        errors.print(
            f"depscreen manifest screen: {code}: {exc.details()}",
            markup=False,
        )
        return 1
    finally:
        channel.close()
    _report(args, summaries, crew)
    return 2 if failed else 0


def _report(args: argparse.Namespace, summaries: list[dict[str, Any]], crew: int) -> None:
    if args.json:
        json.dump({"flights": summaries, "crew_lists_skipped": crew}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    console = Console(highlight=False, soft_wrap=True)
    for s in summaries:
        bands = ", ".join(f"{band} {n}" for band, n in s["bands"].items())
        console.print(
            f"{s['flight']} {s['departure_date']}: {s['screened']} of {s['passengers']}"
            f" screened, {s['rejected']} rejected ({bands}); {s['shared_bookings']} shared"
            f" bookings → {s['out']}",
            markup=False,
        )
    console.print(
        f"{len(summaries)} flights, {crew} crew lists skipped. "
        "For examination at the counter, not a decision.",
        markup=False,
    )
