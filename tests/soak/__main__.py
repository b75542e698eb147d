"""``python -m tests.soak [--minutes M] [--rate R] [--workers N]`` (``scripts/soak``).

Two replicas on a private PostgreSQL cluster under steady load, with kill -9 of a
replica and PostgreSQL restarts at random intervals, and a console watching alerts
with resumption. At the end: every acknowledged assessment and decision is there and
unchanged, ``depscreen audit verify`` passes, and the console received every stored
alert exactly once. Prints the figures; exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import collections
import os
import secrets
import signal
import subprocess
import sys
import threading
import time

import grpc
import psycopg
from departure_screening.bench.machine import python_yardstick_ms
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc
from support.postgres import PostgresCluster, create_database
from support.servers import ServerProcess

from .console import ResumingConsole
from .faults import Faults
from .load import Ledger, LoadWorker


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="scripts/soak", description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=30.0, help="how long the load runs")
    p.add_argument("--rate", type=float, default=4.0, help="screening rounds per second per worker")
    p.add_argument("--workers", type=int, default=4, help="load threads")
    p.add_argument(
        "--fault-every",
        type=float,
        nargs=2,
        default=(20.0, 60.0),
        metavar=("MIN", "MAX"),
        help="seconds between faults, drawn uniformly (default 20 60)",
    )
    p.add_argument("--seed", type=int, default=17)
    return p.parse_args(argv)


class Stubs:
    """Fresh channels after a replica restarts would be the client's business; gRPC
    channels reconnect by themselves, so one per replica serves the whole soak."""

    def __init__(self, replicas: list[ServerProcess]) -> None:
        options = [("grpc.max_reconnect_backoff_ms", 1000)]
        self._channels = [grpc.insecure_channel(r.target, options=options) for r in replicas]
        self.stubs = [pb_grpc.ScreeningServiceStub(c) for c in self._channels]

    def __call__(self) -> list[pb_grpc.ScreeningServiceStub]:
        return self.stubs

    def close(self) -> None:
        for c in self._channels:
            c.close()


def stored_alert_ids(db: str) -> list[str]:
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT alert_id FROM group_alerts WHERE checkpoint = 'CGK' AND mode = 'MODE_LIVE'"
            " ORDER BY alert_id"
        ).fetchall()
    return [f"{int(r[0]):020d}" for r in rows]


def check_records(stub: pb_grpc.ScreeningServiceStub, ledger: Ledger) -> tuple[int, int]:
    """Acknowledged assessments and decisions missing or changed."""
    decisions: dict[str, list[pb.RecordedDecision]] = collections.defaultdict(list)
    for d in ledger.decisions:
        decisions[d.assessment_id].append(d)
    lost_assessments = lost_decisions = 0
    for acknowledged in ledger.assessments.values():
        try:
            got = stub.GetAssessment(
                pb.GetAssessmentRequest(assessment_id=acknowledged.assessment_id), timeout=30
            )
        except grpc.RpcError:
            lost_assessments += 1
            lost_decisions += len(decisions[acknowledged.assessment_id])
            continue
        if got.assessment != acknowledged:
            lost_assessments += 1
        for d in decisions[acknowledged.assessment_id]:
            if list(got.decisions).count(d) != 1:
                lost_decisions += 1
    return lost_assessments, lost_decisions


def main(argv: list[str]) -> int:
    args = parse(argv)
    # Stopped with SIGTERM, it still stops its servers and its cluster.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.environ.setdefault("DEPSCREEN_DRAIN_SECONDS", "0")
    loop_ms = python_yardstick_ms()
    cluster = PostgresCluster()
    cluster.start()
    db = create_database(cluster.url(), prefix="depscreen_soak")
    env = {"DEPSCREEN_PSEUDONYM_KEY": secrets.token_hex(32)}
    replicas = [ServerProcess(store=db, env=env).start(), ServerProcess(store=db, env=env).start()]
    stubs = Stubs(replicas)
    ledger = Ledger()
    stop = threading.Event()
    workers = [LoadWorker(i, stubs, ledger, args.rate, stop) for i in range(args.workers)]
    console = ResumingConsole(stubs)
    faults = Faults(replicas, cluster, every=tuple(args.fault_every), seed=args.seed)
    try:
        console.start()
        for w in workers:
            w.thread.start()
        faults.start()
        started = time.monotonic()
        seconds = args.minutes * 60
        while (elapsed := time.monotonic() - started) < seconds:
            time.sleep(min(30.0, seconds - elapsed))
            elapsed = time.monotonic() - started
            with ledger.lock:
                done = len(ledger.assessments)
            print(
                f"{elapsed / 60:5.1f} min: {done} screenings acknowledged,"
                f" faults {dict(faults.injected)}, console {len(console.snapshot())} alerts",
                flush=True,
            )
        faults.stop()
        stop.set()
        for w in workers:
            w.thread.join(GIVE_UP)
        ran = time.monotonic() - started
        if not cluster.running:
            cluster.start()
        for r in replicas:
            if r.proc is None or r.proc.poll() is not None:
                r.start(timeout=60)
        # Every stored alert reaches the console (it polls at least once a second).
        expected = stored_alert_ids(db)
        deadline = time.monotonic() + 60
        while len(console.snapshot()) < len(expected) and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)  # a duplicate would arrive now
        console.stop()
        received = console.snapshot()
        counts = collections.Counter(received)
        missed = sorted(set(expected) - set(counts))
        duplicated = sorted(a for a, n in counts.items() if n > 1)
        unknown = sorted(set(counts) - set(expected))
        in_order = received == sorted(received)
        lost_assessments, lost_decisions = check_records(stubs.stubs[0], ledger)
        verify = subprocess.run(
            [sys.executable, "-m", "departure_screening", "audit", "verify", "--store", db],
            capture_output=True,
            text=True,
            check=False,
        )
        screened = len(ledger.assessments)
        figures = {
            "duration_minutes": round(ran / 60, 1),
            "python_loop_ms": loop_ms,
            "screenings_acknowledged": screened,
            "screenings_per_second": round(screened / ran, 1),
            "decisions_acknowledged": len(ledger.decisions),
            "faults": dict(faults.injected),
            "fault_errors": len(faults.errors),
            "retries": dict(ledger.retries),
            "calls_given_up": ledger.given_up,
            "calls_refused": dict(ledger.refused),
            "load_threads_crashed": len(ledger.crashed),
            "acknowledged_assessments_lost_or_changed": lost_assessments,
            "acknowledged_decisions_lost_or_changed": lost_decisions,
            "audit_verify_exit": verify.returncode,
            "alerts_stored": len(expected),
            "alerting_groups_acknowledged": len(ledger.alerting_groups),
            "alerts_received": len(received),
            "alerts_missed": len(missed),
            "alerts_duplicated": len(duplicated),
            "alerts_unknown": len(unknown),
            "alerts_in_order": in_order,
            "console_reconnects": console.reconnects,
            "console_streams_ended_by": dict(console.ended_by),
        }
        for line in faults.log:
            print(line)
        for line in faults.errors:
            print("fault error:", line)
        for line in ledger.crashed:
            print("load thread crashed:", line)
        if verify.returncode != 0:
            print(verify.stdout, verify.stderr)
        for name, value in figures.items():
            print(f"{name}: {value}")
        ok = (
            lost_assessments == 0
            and lost_decisions == 0
            and verify.returncode == 0
            and not missed
            and not duplicated
            and not unknown
            and in_order
            and ledger.given_up == 0
            and not ledger.refused
            and not ledger.crashed
        )
        print("SOAK PASSED" if ok else "SOAK FAILED")
        return 0 if ok else 1
    finally:
        stop.set()
        faults.stop()
        console.stop()
        stubs.close()
        for r in replicas:
            r.kill()
        cluster.destroy()


GIVE_UP = 130.0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
