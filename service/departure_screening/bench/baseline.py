"""Baseline ScreeningServices: canned answers, no validation, engine or screening store.

``depscreen bench`` runs them beside the real server so that the service's speed is
reported as a share of what gRPC in Python can do on the same machine: transport
only, and (``--durable PATH``) transport plus a group-committed durable append of
each request, the limit of any service that acknowledges only what is durable.
With ``--tls-cert``, ``--tls-key`` and ``--tls-client-ca`` it serves mutual TLS as the
service does, client certificates required, but checks no identity: the transport's cost
of mTLS without the service's access control.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc

from departure_screening.bench.durable_log import DurableLog
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc

_CANNED = pb.Assessment(
    assessment_id="baseline",
    score=25,
    band=pb.RISK_BAND_LOW,
    recommended_action=pb.ACTION_PROCEED,
    indicators=[
        pb.FiredIndicator(code="DESTINATION_WATCHLIST", weight=20, title="t", title_id="t"),
        pb.FiredIndicator(code="TOURIST_ENTRY_TO_WATCHLIST", weight=5, title="t", title_id="t"),
    ],
)


class BaselineServicer(pb_grpc.ScreeningServiceServicer):  # type: ignore[misc]
    def __init__(self, log: DurableLog | None = None) -> None:
        self._log = log

    def Screen(self, request: pb.ScreenRequest, context: Any) -> pb.ScreenResponse:
        if self._log is not None:
            self._log.append(request.SerializeToString())
        return pb.ScreenResponse(assessment=_answer(request.screening))

    def ScreenManifest(
        self, requests: Iterator[pb.ScreenManifestRequest], context: Any
    ) -> Iterator[pb.ScreenManifestResponse]:
        for request in requests:
            if self._log is not None:
                self._log.append(request.SerializeToString())
            yield pb.ScreenManifestResponse(assessment=_answer(request.screening))


def _answer(s: pb.Screening) -> pb.Assessment:
    a = pb.Assessment()
    a.CopyFrom(_CANNED)
    a.request_id = s.request_id
    a.checkpoint = s.checkpoint
    a.mode = s.mode
    return a


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", required=True)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument(
        "--reuse-port", action="store_true", help="share the port with other baseline processes"
    )
    parser.add_argument(
        "--durable", metavar="PATH", help="append each request to this SQLite database first"
    )
    parser.add_argument("--tls-cert", metavar="PATH", help="serve mutual TLS with this chain")
    parser.add_argument("--tls-key", metavar="PATH", help="the key of --tls-cert")
    parser.add_argument("--tls-client-ca", metavar="PATH", help="CA of the client certificates")
    args = parser.parse_args()
    tls = (args.tls_cert, args.tls_key, args.tls_client_ca)
    if any(tls) and not all(tls):
        parser.error("--tls-cert, --tls-key and --tls-client-ca go together")
    log = DurableLog(args.durable) if args.durable else None
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=args.workers),
        options=[("grpc.so_reuseport", 1 if args.reuse_port else 0)],
    )
    pb_grpc.add_ScreeningServiceServicer_to_server(BaselineServicer(log), server)
    if args.tls_cert:
        credentials = grpc.ssl_server_credentials(
            [(Path(args.tls_key).read_bytes(), Path(args.tls_cert).read_bytes())],
            root_certificates=Path(args.tls_client_ca).read_bytes(),
            require_client_auth=True,
        )
        server.add_secure_port(args.listen, credentials)
    else:
        server.add_insecure_port(args.listen)
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop(1).wait()
    if log is not None:
        log.close()


if __name__ == "__main__":
    main()
