"""Many threads screening different travellers each get what they would get alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from conftest import start_in_process
from departure_screening.v1 import screening_pb2 as pb
from support.builders import screening

DESTINATIONS = ["KH", "SG", "LA", "JP", "MM", "MY", "TH", "PH"]
PURPOSES = [pb.PURPOSE_TOURISM, pb.PURPOSE_WORK, pb.PURPOSE_BUSINESS, pb.PURPOSE_FAMILY_VISIT]


def travellers(n: int) -> list[pb.Screening]:
    return [
        screening(
            trip__destination_country=DESTINATIONS[i % len(DESTINATIONS)],
            trip__has_return_ticket=i % 3 != 0,
            declaration__purpose=PURPOSES[i % len(PURPOSES)],
            traveller__birth_date=f"{1985 + i % 25}-0{1 + i % 9}-1{i % 9}",
            observations=[o for o in (1, 2, 3, 4) if (i >> o) % 2],
        )
        for i in range(n)
    ]


def essence(a: pb.Assessment) -> tuple[object, ...]:
    return (
        a.request_id,
        a.score,
        a.band,
        a.recommended_action,
        tuple((i.code, i.weight, tuple(sorted(i.evidence.items()))) for i in a.indicators),
    )


def test_parallel_results_equal_sequential_results() -> None:
    people = travellers(400)
    alone_server = start_in_process()
    together_server = start_in_process(workers=16)
    try:
        alone = [
            essence(alone_server.stub.Screen(pb.ScreenRequest(screening=s)).assessment)
            for s in people
        ]
        with ThreadPoolExecutor(16) as pool:
            together = list(
                pool.map(
                    lambda s: essence(
                        together_server.stub.Screen(pb.ScreenRequest(screening=s)).assessment
                    ),
                    people,
                )
            )
        assert together == alone
        assert len({r[1] for r in alone}) > 5  # the travellers really differ
    finally:
        for srv in (alone_server, together_server):
            srv.channel.close()
            srv.running.stop(0)
