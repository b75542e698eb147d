"""Many threads screening different travellers each get what they would get alone,
on the in-memory store and on SQLite, with groups forming under concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conftest import start_in_process
from departure_screening.v1 import screening_pb2 as pb
from support.builders import screening
from support.rpc import sample_value

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


def test_parallel_results_equal_sequential_results_on_sqlite(tmp_path: Path) -> None:
    people = travellers(200)
    alone_server = start_in_process(f"sqlite:///{tmp_path / 'alone.db'}")
    together_server = start_in_process(f"sqlite:///{tmp_path / 'together.db'}", workers=16)
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
    finally:
        for srv in (alone_server, together_server):
            srv.channel.close()
            srv.running.stop(0)


GROUPS = 12
MEMBERS = 6


def test_groups_screened_in_parallel_on_sqlite_count_each_member_once(tmp_path: Path) -> None:
    """Members of one group at once on many threads: each group counts 1..N in some
    order, the indicator fires from the threshold on, and one alert per group."""
    server = start_in_process(f"sqlite:///{tmp_path / 'groups.db'}", workers=16)
    members = [
        screening(
            trip__escort_passport_number=f"E{g:07d}",
            trip__destination_country="KH",
        )
        for n in range(MEMBERS)
        for g in range(GROUPS)
    ]
    try:
        with ThreadPoolExecutor(16) as pool:
            assessed = list(
                pool.map(
                    lambda s: server.stub.Screen(pb.ScreenRequest(screening=s)).assessment,
                    members,
                )
            )
        by_group: dict[str, list[pb.Assessment]] = {}
        for a in assessed:
            by_group.setdefault(a.group.group_key, []).append(a)
        assert len(by_group) == GROUPS
        for group in by_group.values():
            assert sorted(a.group.members_screened for a in group) == list(range(1, MEMBERS + 1))
            for a in group:
                fired = any(i.code == "GROUP_WITH_RECRUITER" for i in a.indicators)
                assert fired == (a.group.members_screened >= 3)
        assert (
            sample_value(
                server.metrics_text(), "depscreen_group_alerts_total", {"checkpoint": "CGK"}
            )
            == GROUPS
        )
    finally:
        server.channel.close()
        server.running.stop(0)
