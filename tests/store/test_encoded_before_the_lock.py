"""An assessment encoded before the write lock is stored exactly as one encoded under it,
and an encoding made for another assessment is never stored in its place."""

from __future__ import annotations

import dataclasses

from departure_screening.store.sqlbase import SqlStore
from support.store_helpers import StoreKit, assessment, keys


def test_an_early_encoding_stores_the_same_record_and_chain(durable_kit: StoreKit) -> None:
    store = durable_kit.open()
    assert isinstance(store, SqlStore)
    early_keys, late_keys = keys("A2000001"), keys("A2000002")
    early, late = assessment(early_keys), assessment(late_keys)
    with store.screenings([early_keys, late_keys]) as (tx_early, tx_late):
        tx_early.save(early, None, store.encode(early_keys, early))
        tx_late.save(late, None)  # encoded under the lock
    assert store.get_assessment(early.assessment_id)[0] == early
    assert store.get_assessment(late.assessment_id)[0] == late
    report = store.verify_chain()
    assert report.ok and report.records_checked == 2


def test_an_encoding_of_another_assessment_is_not_stored(durable_kit: StoreKit) -> None:
    store = durable_kit.open()
    assert isinstance(store, SqlStore)
    k = keys("A2000003")
    provisional = assessment(k)
    # Rebuilt under the lock (say, it supersedes a preliminary assessment): the early
    # encoding no longer describes it.
    rebuilt = dataclasses.replace(provisional, supersedes="01a0000000000000000000000000beef")
    with store.screening(k) as tx:
        tx.save(rebuilt, None, store.encode(k, provisional))
    assert store.get_assessment(rebuilt.assessment_id)[0] == rebuilt
    assert store.verify_chain().ok
