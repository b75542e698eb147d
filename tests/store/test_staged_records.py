"""Preliminary assessments in the stores: the counter screening finds the one it
supersedes, records keep their format, and the audit chain verifies across the change."""

from __future__ import annotations

import dataclasses
import json

from departure_screening.domain import STAGE_PRELIMINARY, Assessment
from departure_screening.store import codec
from departure_screening.store.base import ScreeningKeys, Store
from departure_screening.store.sqlbase import SqlStore
from support.store_helpers import WATCHLIST, WINDOWS, StoreKit, assessment, keys


def save(store: Store, k: ScreeningKeys, stage: str = "STAGE_COUNTER") -> Assessment:
    """Screen the way the pipeline does: a counter screening supersedes what it finds."""
    with store.screening(k) as tx:
        tx.history(WATCHLIST, WINDOWS)
        superseded = "" if k.preliminary else tx.superseded()
        a = dataclasses.replace(
            assessment(k),
            stage=stage,
            not_evaluated=("NO_RETURN_TICKET",) if stage == STAGE_PRELIMINARY else (),
            supersedes=superseded,
        )
        tx.save(a, None)
    return a


def preliminary_keys(passport: str, **changes: object) -> ScreeningKeys:
    return dataclasses.replace(keys(passport, **changes), preliminary=True)  # type: ignore[arg-type]


def test_the_counter_supersedes_the_open_preliminary_once(kit: StoreKit) -> None:
    store = kit.open()
    early = save(store, preliminary_keys("P1"), STAGE_PRELIMINARY)
    save(store, preliminary_keys("P2"), STAGE_PRELIMINARY)  # another traveller
    save(store, preliminary_keys("P1", flight="QZ262"), STAGE_PRELIMINARY)  # another flight
    first = save(store, keys("P1"))
    assert first.supersedes == early.assessment_id
    assert save(store, keys("P1")).supersedes == ""
    assert save(store, keys("P1", mode="MODE_TRAINING")).supersedes == ""
    assert store.get_assessment(first.assessment_id)[0] == first
    if kit.durable:
        again = kit.open()
        assert again.get_assessment(early.assessment_id)[0] == early
        assert save(again, keys("P1", flight="QZ262")).supersedes != ""
        assert isinstance(again, SqlStore)
        report = again.verify_chain()
        assert report.ok, report.broken


def test_one_batch_sees_its_own_preliminary(kit: StoreKit) -> None:
    store = kit.open()
    batch = [preliminary_keys("P9"), keys("P9")]
    with store.screenings(batch) as (tx_early, tx_counter):
        early = dataclasses.replace(assessment(batch[0]), stage=STAGE_PRELIMINARY)
        tx_early.save(early, None)
        assert tx_counter.superseded() == early.assessment_id


def test_counter_records_keep_the_format_they_had() -> None:
    plain = assessment(keys("P3"))
    body = json.loads(codec.encode_assessment(plain))
    assert body["format"] == codec.ASSESSMENT_FORMAT == 2
    assert not {"stage", "not_evaluated", "supersedes"} & set(body)
    staged = dataclasses.replace(
        plain, stage=STAGE_PRELIMINARY, not_evaluated=("NO_RETURN_TICKET", "REPEAT_ESCORT")
    )
    text = codec.encode_assessment(staged)
    assert json.loads(text)["format"] == codec.STAGED_ASSESSMENT_FORMAT
    assert codec.decode_assessment(text) == staged
    superseding = dataclasses.replace(plain, supersedes="a-1")
    assert codec.decode_assessment(codec.encode_assessment(superseding)) == superseding
