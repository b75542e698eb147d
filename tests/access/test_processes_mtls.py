"""``depscreen serve --processes 2`` over mTLS: every worker gets the access flags."""

from __future__ import annotations

import grpc
from departure_screening.v1 import screening_pb2 as pb
from departure_screening.v1 import screening_pb2_grpc as pb_grpc
from support.pki import AUDIENCE, ISSUER, Issued, Pki, spiffe_id
from support.servers import ServerProcess, free_port

# Each channel its own connection, so the kernel places each on a worker of its choice.
OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]


def list_indicators(target: str, pki: Pki, client: Issued) -> grpc.StatusCode:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pki.ca.cert_pem,
        private_key=client.key_pem,
        certificate_chain=client.cert_pem,
    )
    with grpc.secure_channel(target, credentials, options=OWN_CONNECTION) as channel:
        try:
            pb_grpc.ScreeningServiceStub(channel).ListIndicators(
                pb.ListIndicatorsRequest(), timeout=10
            )
        except grpc.RpcError as error:
            return error.code()  # type: ignore[no-any-return,attr-defined]
    return grpc.StatusCode.OK


def test_workers_of_a_supervisor_serve_mtls_with_the_policy(fresh_pki: Pki) -> None:
    pki = fresh_pki
    server = ServerProcess(
        store=f"sqlite:///{pki.directory / 'depscreen.db'}",
        probe_port=free_port(),
        extra_args=[
            "--processes",
            "2",
            "--tls-cert",
            str(pki.server_cert),
            "--tls-key",
            str(pki.server_key),
            "--tls-client-ca",
            str(pki.client_ca),
            "--officer-jwks",
            str(pki.jwks),
            "--officer-issuer",
            ISSUER,
            "--officer-audience",
            AUDIENCE,
        ],
    )
    with server:
        counter = pki.ca.device("counter")
        stranger = pki.ca.issue("odd", uris=(spiffe_id("counter", checkpoint="XYZ"),))
        # Several connections, so both workers answer some of them.
        for _ in range(6):
            assert list_indicators(server.target, pki, counter) == grpc.StatusCode.OK
            assert list_indicators(server.target, pki, stranger) == grpc.StatusCode.UNAUTHENTICATED
        with grpc.insecure_channel(server.target) as plain:
            try:
                pb_grpc.ScreeningServiceStub(plain).ListIndicators(
                    pb.ListIndicatorsRequest(), timeout=5
                )
                plain_code = grpc.StatusCode.OK
            except grpc.RpcError as error:
                plain_code = error.code()  # type: ignore[attr-defined]
        assert plain_code == grpc.StatusCode.UNAVAILABLE
