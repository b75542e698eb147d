"""The store contract, the same assertions for the memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest
from departure_screening.domain import GroupAlert, Screening
from departure_screening.errors import AlreadyExists, NotFound
from departure_screening.store.base import Store
from departure_screening.store.memory import MemoryStore
from support.store_helpers import (
    DAY,
    T0,
    WATCHLIST,
    WINDOWS,
    StoreKit,
    assessment,
    decide,
    keys,
    screen,
)


class Boom(Exception):
    pass


def test_unknown_assessment_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.get_assessment("nope")
    with pytest.raises(NotFound):
        decide(store, "nope", "DECISION_CLEARED")


def test_assessment_round_trips_exactly(store: Store) -> None:
    k = keys()
    first = screen(store, k)
    got, decisions = store.get_assessment(first.assessment.assessment_id)
    assert got == first.assessment
    assert decisions == []
    store.check()


def test_retry_returns_stored_assessment_and_counts_once(store: Store) -> None:
    a = screen(store, keys("P1", escort="E1"))
    b1 = keys("P2", escort="E1")
    first = screen(store, b1)
    assert first.assessment.group.members_screened == 2
    again = screen(store, b1, at=T0 + dt.timedelta(hours=1))
    assert again.replayed
    assert again.assessment == first.assessment  # members_screened included
    third = screen(store, keys("P3", escort="E1"))
    assert third.history is not None
    assert third.history.group_members == 3
    assert third.history.earlier_group_assessments == (
        a.assessment.assessment_id,
        first.assessment.assessment_id,
    )


def test_existing_returns_stored_fingerprint_for_different_content(store: Store) -> None:
    k = keys("P1")
    first = screen(store, k)
    other = dataclasses.replace(k, fingerprint="different")
    with store.screening(other) as tx:
        stored = tx.existing()
    assert stored is not None
    assert stored.fingerprint == k.fingerprint
    assert stored.assessment == first.assessment


def test_nothing_saved_when_the_block_raises(store: Store) -> None:
    hub_alerts: list[GroupAlert] = []
    k1, k2 = keys("P1", escort="E"), keys("P2", escort="E")
    screen(store, k1)
    screen(store, k2)
    k3 = keys("P3", escort="E")
    with store.alerts.subscribe("CGK", "MODE_LIVE") as q:
        with pytest.raises(Boom), store.screening(k3) as tx:
            h = tx.history(WATCHLIST, WINDOWS)
            a = assessment(k3, members=h.group_members)
            tx.save(a, GroupAlert("CGK", "MODE_LIVE", k3.group_key, "GA820", DAY, 3, (), T0))
            raise Boom
        while not q.empty():
            hub_alerts.append(q.get())
    assert hub_alerts == []
    with pytest.raises(NotFound):
        store.get_assessment(a.assessment_id)
    with store.screening(k3) as tx:
        assert tx.existing() is None
        assert tx.history(WATCHLIST, WINDOWS).group_members == 3


def test_decisions_append_in_order(store: Store) -> None:
    s = screen(store, keys())
    aid = s.assessment.assessment_id
    d1 = decide(
        store,
        aid,
        "DECISION_POSTPONED",
        note="missing return ticket",
        at=T0 + dt.timedelta(minutes=5),
    )
    d2 = decide(
        store,
        aid,
        "DECISION_CLEARED_AFTER_INTERVIEW",
        note="kembali — ok ✓",
        at=T0 + dt.timedelta(minutes=50),
    )
    d3 = decide(store, aid, "DECISION_REFERRED", at=T0 + dt.timedelta(minutes=1))
    got, decisions = store.get_assessment(aid)
    assert got == s.assessment
    assert decisions == [d1, d2, d3]
    assert store.record_decision(d1) == s.assessment


def test_group_counts_distinct_travellers_escort_excluded(store: Store) -> None:
    with store.alerts.subscribe("CGK", "MODE_LIVE") as q:
        m1 = screen(store, keys("P1", escort="E"))
        # The escort screened on the same trip, naming themselves: not a member.
        esc = screen(store, keys("E", escort="E"))
        assert esc.history is not None
        assert esc.history.group_members == 1
        assert esc.history.new_member
        m1_retry = screen(store, keys("P1", escort="E"))  # new request id, same traveller
        assert m1_retry.history is not None
        assert m1_retry.history.group_members == 1
        assert not m1_retry.history.new_member
        m2 = screen(store, keys("P2", escort="E"))
        assert q.empty()
        m3 = screen(store, keys("P3", escort="E"))
        assert m3.alert is not None
        assert q.get(timeout=5) == m3.alert
        m4 = screen(store, keys("P4", escort="E"))
        assert m4.alert is None
    assert [m.assessment.group.members_screened for m in (m1, m2, m3, m4)] == [1, 2, 3, 4]
    assert m3.alert.earlier_assessment_ids == (
        m1.assessment.assessment_id,
        m2.assessment.assessment_id,
    )
    assert m4.history is not None
    assert m4.history.earlier_group_assessments == (
        m1.assessment.assessment_id,
        m2.assessment.assessment_id,
        m3.assessment.assessment_id,
    )
    # Other mode, other flight, other date, no escort: other groups.
    assert screen(store, keys("P5", escort="E", mode="MODE_TRAINING")).history == (
        screen(store, keys("P6", escort="E", flight="QZ1")).history
    )
    solo = screen(store, keys("P7"))
    assert solo.history is not None
    assert solo.history.group_members == 0


def test_escort_watchlist_trips(store: Store) -> None:
    def trip(
        days_before: int,
        dest: str = "KH",
        mode: str = "MODE_LIVE",
        flight: str = "GA1",
        passport: str = "X",
    ) -> None:
        screen(
            store,
            keys(
                f"{passport}{days_before}{dest}{mode}{flight}",
                escort="E",
                flight=flight,
                dest=dest,
                mode=mode,
                date=DAY - dt.timedelta(days=days_before),
            ),
        )

    trip(0)  # the same day is not earlier
    trip(1)
    trip(1, passport="Y")  # a second traveller on the same trip counts once
    trip(1, flight="GA2")  # another flight the same day is another trip
    trip(90, dest="MM")
    trip(91)  # outside the window
    trip(30, dest="SG")  # not a watch-list destination
    trip(40, mode="MODE_TRAINING")  # other mode
    trip(-3)  # later departure
    h = screen(store, keys("T", escort="E", dest="SG")).history
    assert h is not None
    assert h.escort_watchlist_trips == 3
    other = screen(store, keys("T2", escort="F")).history
    assert other is not None
    assert other.escort_watchlist_trips == 0
    training = screen(store, keys("T3", escort="E", mode="MODE_TRAINING")).history
    assert training is not None
    assert training.escort_watchlist_trips == 1


def test_prior_postponements(store: Store) -> None:
    def trip(
        days_before: int, *decisions: str, mode: str = "MODE_LIVE", flight: str = "GA1"
    ) -> None:
        s = screen(
            store, keys("P", flight=flight, mode=mode, date=DAY - dt.timedelta(days=days_before))
        )
        for d in decisions:
            decide(store, s.assessment.assessment_id, d)

    trip(0, "DECISION_POSTPONED")  # same day: not earlier
    trip(10, "DECISION_POSTPONED", "DECISION_CLEARED_AFTER_INTERVIEW")  # still counts
    trip(10, "DECISION_REFERRED")  # same trip again: counts once
    trip(20, "DECISION_CLEARED")
    trip(365, "DECISION_REFERRED")
    trip(366, "DECISION_POSTPONED")
    trip(50, "DECISION_POSTPONED", mode="MODE_TRAINING")
    trip(60, "DECISION_POSTPONED", flight="GA2")
    h = screen(store, keys("P", flight="GA9")).history
    assert h is not None
    assert h.prior_postponements == 3
    t = screen(store, keys("P", flight="GA9", mode="MODE_TRAINING")).history
    assert t is not None
    assert t.prior_postponements == 1
    nobody = screen(store, keys("Q")).history
    assert nobody is not None
    assert nobody.prior_postponements == 0


def test_screener_end_to_end(store: Store, ruleset: object) -> None:
    from departure_screening.domain import Declaration, Traveller, Trip
    from departure_screening.pipeline.screener import Screener
    from departure_screening.privacy.pseudonym import Pseudonymizer
    from departure_screening.screening.ruleset import Ruleset

    assert isinstance(ruleset, Ruleset)
    screener = Screener(ruleset, store, Pseudonymizer(b"k" * 32))

    def s(n: int, request_id: str, **trip: object) -> Screening:
        return Screening(
            request_id=request_id,
            checkpoint="CGK",
            mode="MODE_LIVE",
            traveller=Traveller(f"B{n:07d}", "ID", dt.date(1995, 1, 1), dt.date(2020, 1, 1)),
            trip=Trip("GA820", DAY, "KH", escort_passport_number="E7654321", **trip),  # type: ignore[arg-type]
            declaration=Declaration("PURPOSE_TOURISM", "VISA_TYPE_TOURIST"),
        )

    outs = [screener.screen(s(i, f"r{i}")) for i in range(3)]
    assert [o.assessment.group.members_screened for o in outs] == [1, 2, 3]
    assert len(outs[2].alerts) == 1
    again = screener.screen(s(1, "r1"))
    assert again.replayed
    assert again.assessment == outs[1].assessment
    with pytest.raises(AlreadyExists):
        screener.screen(s(1, "r1", has_return_ticket=True))
    codes = {i.code for i in outs[2].assessment.indicators}
    assert "GROUP_WITH_RECRUITER" in codes


def test_same_history_as_memory_store(kit: StoreKit) -> None:
    """A long random mix of screenings, retries and decisions gives exactly what
    MemoryStore gives, step by step."""
    store = kit.open()
    reference = MemoryStore()
    rng = random.Random(20260301)
    travellers = [f"P{i}" for i in range(12)]
    escorts = ["", "", "E1", "E2", "P3"]  # P3 is both a traveller and an escort
    flights = ["GA1", "GA2"]
    modes = ["MODE_LIVE", "MODE_LIVE", "MODE_TRAINING"]
    decisions = [
        "DECISION_CLEARED",
        "DECISION_CLEARED_AFTER_INTERVIEW",
        "DECISION_POSTPONED",
        "DECISION_REFERRED",
    ]
    seen_keys: list = []
    ids: list[str] = []
    for step in range(300):
        roll = rng.random()
        if roll < 0.15 and seen_keys:
            k = rng.choice(seen_keys)  # a retry
        elif roll < 0.35 and ids:
            aid = rng.choice(ids)
            d = rng.choice(decisions)
            decide(store, aid, d)
            decide(reference, aid, d)
            continue
        else:
            k = keys(
                rng.choice(travellers),
                escort=rng.choice(escorts),
                flight=rng.choice(flights),
                mode=rng.choice(modes),
                dest=rng.choice(["KH", "MM", "SG", "MY"]),
                date=DAY + dt.timedelta(days=rng.randrange(-120, 120)),
            )
            seen_keys.append(k)
        aid = f"a{step}"
        got = screen(store, k, assessment_id=aid)
        want = screen(reference, k, assessment_id=aid)
        assert got == want, f"step {step}"
        if not got.replayed:
            ids.append(aid)
    for aid in ids:
        assert store.get_assessment(aid) == reference.get_assessment(aid)


def test_one_transaction_for_several_screenings_sees_its_own_saves(store: Store) -> None:
    members = [keys(f"B{n}", escort="E9") for n in range(4)]
    retry = members[1]
    with store.screenings([*members, retry]) as txs:
        seen = []
        for k, tx in zip([*members, retry], txs, strict=True):
            stored = tx.existing()
            if stored is not None:
                seen.append(("replayed", stored.assessment.group.members_screened))
                continue
            h = tx.history(WATCHLIST, WINDOWS)
            tx.save(assessment(k, members=h.group_members), None)
            seen.append(("new", h.group_members))
    assert seen == [("new", 1), ("new", 2), ("new", 3), ("new", 4), ("replayed", 2)]
    assert screen(store, keys("B9", escort="E9")).history.group_members == 5  # type: ignore[union-attr]


def test_a_failed_batch_keeps_nothing(store: Store) -> None:
    first, second = keys("C1", escort="E8"), keys("C2", escort="E8")
    with pytest.raises(Boom), store.screenings([first, second]) as txs:
        txs[0].save(assessment(first, members=1), None)
        raise Boom
    after = screen(store, keys("C3", escort="E8"))
    assert after.history is not None and after.history.group_members == 1
    with store.screening(first) as tx:
        assert tx.existing() is None


def test_alerts_are_numbered_in_raise_order_and_read_after_an_id(store: Store) -> None:
    where = [
        ("CGK", "MODE_LIVE"),
        ("SUB", "MODE_LIVE"),
        ("CGK", "MODE_TRAINING"),
        ("CGK", "MODE_LIVE"),
    ]
    raised: list[GroupAlert] = []
    with store.alerts.subscribe("CGK", "MODE_LIVE") as live:
        for n, (checkpoint, mode) in enumerate(where):
            for member in range(3):
                s = screen(
                    store,
                    keys(f"N{n}M{member}", escort=f"ESC{n}", checkpoint=checkpoint, mode=mode),
                )
            assert s.alert is not None
            raised.append(s.alert)
        published = [live.get(timeout=5), live.get(timeout=5)]
    stored = store.alerts_after(0)
    assert stored == raised
    ids = [a.alert_id for a in stored]
    assert ids[0] > 0 and ids == sorted(set(ids))
    assert [a.alert_id for a in published] == [ids[0], ids[3]]
    cgk_live = store.alerts_after(0, checkpoint="CGK", mode="MODE_LIVE")
    assert [a.alert_id for a in cgk_live] == [ids[0], ids[3]]
    assert store.alerts_after(ids[0], checkpoint="CGK", mode="MODE_LIVE") == [raised[3]]
    assert store.alerts_after(ids[1], limit=1) == [raised[2]]
    assert store.alerts_after(ids[3]) == []


def test_a_full_watcher_is_dropped_and_the_others_still_get_every_alert(store: Store) -> None:
    store.alerts.watcher_buffer = 2  # a hub's setting; read when a watcher subscribes
    with (
        store.alerts.subscribe("CGK", "MODE_LIVE") as stalled,
        store.alerts.subscribe("CGK", "MODE_LIVE") as reading,
    ):
        got = []
        for n in range(4):
            for member in range(3):
                s = screen(store, keys(f"F{n}M{member}", escort=f"FULL{n}"))
            assert s.alert is not None
            got.append(reading.get(timeout=5))
        assert stalled.overflowed
        assert [stalled.get_nowait(), stalled.get_nowait()] == got[:2]
        assert stalled.empty()
        assert store.alerts.watcher_count("CGK", "MODE_LIVE") == 1
