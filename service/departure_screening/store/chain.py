"""The audit hash chain over assessments and decisions.

Every stored assessment and decision gets the next link of one chain, in commit
order. A link holds the digest of its record (every stored column, the JSON body
included) and a hash over the previous link's hash, its own position and that
digest; so altering, removing, inserting or reordering any record breaks the chain
from that point on, and ``verify`` names the first broken link.

Purging old records keeps their links (digests only, no personal data) marked as
purged. Each link carries the instant that decides when its record may be purged
(the assessment's ``assessed_at``), and each purge appends a chained *purge event*
with its cutoff; so a link marked purged is accepted only when a later purge event
covers it, and a record a purge should have removed is reported too. Deleting a
recent record and calling it purged therefore breaks the chain. A purged prefix of
the chain is folded into an *anchor* (sequence number and hash of its last link),
which the latest purge event records; verification starts from it.

The chain proves integrity relative to its head: someone able to rewrite the whole
database could recompute every hash. Recording the head hash that ``verify``
prints somewhere else (a ticket, a log shipped off the host) closes that gap.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from departure_screening.store.codec import canonical

GENESIS_HASH = "0" * 64
ASSESSMENTS = "assessments"
DECISIONS = "decisions"
PURGES = "purges"
SHADOWS = "shadow_results"

ColumnValue = str | int


def utc_text(value: dt.datetime) -> str:
    """One fixed-width UTC text per instant, comparable as text (SQLite) and hashable."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc_text(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def record_digest(table: str, columns: Mapping[str, ColumnValue], body: str) -> str:
    """Digest of one stored row: its table, its indexed columns and its JSON body."""
    # The body is canonical JSON already: it is hashed as it is, not escaped again.
    text = "\n".join((table, canonical(dict(columns)), body))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def link_hash(
    prev_hash: str, seq: int, table: str, record_id: str, digest: str, purge_key: str
) -> str:
    text = "\n".join((prev_hash, str(seq), table, record_id, digest, purge_key))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Link:
    seq: int
    table: str
    record_id: str
    record_digest: str
    # utc_text of the assessment's assessed_at (for its decisions too); "" for purge events.
    purge_key: str
    prev_hash: str
    hash: str
    purged: bool = False


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as found in its table, digested the way it was when appended."""

    seq: int
    table: str
    record_id: str
    digest: str
    purge_key: str | None = None  # known for assessments: their assessed_at


@dataclass(frozen=True, slots=True)
class ChainPoint:
    seq: int
    hash: str


GENESIS = ChainPoint(0, GENESIS_HASH)


@dataclass(frozen=True, slots=True)
class PurgeEvent:
    """A purge as its record states it: what it removed and where it left the anchor."""

    seq: int
    cutoff: str  # utc_text; records with a purge key before it were removed
    anchor: ChainPoint


def next_link(head: ChainPoint, table: str, record_id: str, digest: str, purge_key: str) -> Link:
    seq = head.seq + 1
    return Link(
        seq,
        table,
        record_id,
        digest,
        purge_key,
        head.hash,
        link_hash(head.hash, seq, table, record_id, digest, purge_key),
    )


class _Cover:
    """The latest cutoff among purge events after a given position of the chain."""

    def __init__(self, events: Iterable[PurgeEvent]) -> None:
        ordered = sorted(events, key=lambda e: e.seq)
        self._seqs = [e.seq for e in ordered]
        self._suffix_max: list[str] = [""] * len(ordered)
        best = ""
        for i in range(len(ordered) - 1, -1, -1):
            best = max(best, ordered[i].cutoff)
            self._suffix_max[i] = best

    def after(self, seq: int) -> str:
        i = bisect.bisect_right(self._seqs, seq)
        return self._suffix_max[i] if i < len(self._seqs) else ""


@dataclass(frozen=True, slots=True)
class BrokenLink:
    table: str
    seq: int
    record_id: str
    reason: str

    def __str__(self) -> str:
        ident = f" id {self.record_id}" if self.record_id else ""
        return f"{self.table} seq {self.seq}{ident}: {self.reason}"


@dataclass(frozen=True, slots=True)
class VerifyReport:
    anchor: ChainPoint
    head: ChainPoint
    links_checked: int
    records_checked: int
    broken: BrokenLink | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify(
    anchor: ChainPoint,
    head: ChainPoint,
    links: Iterable[Link],
    records: Iterable[StoredRecord],
    events: Sequence[PurgeEvent] = (),
) -> VerifyReport:
    """Walk the links after ``anchor`` in order against the records, both sorted by seq.

    ``events`` are the purge events as stored; each is itself a record the walk
    checks, so a forged cutoff or anchor shows as an altered record.
    """
    links_checked = records_checked = 0
    prev = anchor
    cover = _Cover(events)
    rec_iter: Iterator[StoredRecord] = iter(records)
    rec = next(rec_iter, None)

    def report(broken: BrokenLink | None, last: ChainPoint) -> VerifyReport:
        return VerifyReport(anchor, last, links_checked, records_checked, broken)

    # The anchor is only where the latest purge left it (or the start, before any purge).
    latest = max(events, key=lambda e: e.seq, default=None)
    expected_anchor = latest.anchor if latest is not None else GENESIS
    if anchor != expected_anchor:
        return report(
            BrokenLink(
                "chain_anchor",
                anchor.seq,
                "",
                f"anchor is not where the last purge left it (seq {expected_anchor.seq})",
            ),
            prev,
        )

    for link in links:
        if rec is not None and rec.seq < link.seq:
            # A row no link accounts for: inserted behind the chain's back, or a purged
            # record that came back.
            return report(BrokenLink(rec.table, rec.seq, rec.record_id, "record has no link"), prev)
        if link.seq != prev.seq + 1:
            reason = f"link missing (expected seq {prev.seq + 1}, found {link.seq})"
            return report(BrokenLink("audit_chain", prev.seq + 1, "", reason), prev)

        def broken(reason: str, link: Link = link, last: ChainPoint = prev) -> VerifyReport:
            return report(BrokenLink(link.table, link.seq, link.record_id, reason), last)

        if link.prev_hash != prev.hash:
            return broken("previous hash does not match the link before")
        if (
            link_hash(
                prev.hash, link.seq, link.table, link.record_id, link.record_digest, link.purge_key
            )
            != link.hash
        ):
            return broken("link hash does not match its content")
        cutoff = cover.after(link.seq) if link.table != PURGES else ""
        if link.purged:
            if link.table == PURGES or not (cutoff and link.purge_key < cutoff):
                return broken("marked purged, but no later purge covers it")
            if rec is not None and rec.seq == link.seq:
                return broken("marked purged, but the record is still there")
        else:
            if rec is None or rec.seq != link.seq:
                return broken("record missing (deleted without purge)")
            if rec.table != link.table or rec.record_id != link.record_id:
                return broken(f"record is {rec.table} {rec.record_id}, not the one the link names")
            if rec.digest != link.record_digest:
                return broken("record altered (digest differs)")
            if rec.purge_key is not None and rec.purge_key != link.purge_key:
                return broken("record's assessed_at differs from its link")
            if cutoff and link.purge_key < cutoff:
                return broken("a later purge should have removed this record")
            records_checked += 1
            rec = next(rec_iter, None)
        links_checked += 1
        prev = ChainPoint(link.seq, link.hash)
    if rec is not None:
        return report(BrokenLink(rec.table, rec.seq, rec.record_id, "record has no link"), prev)
    if prev != head:
        reason = (
            f"chain head says seq {head.seq} hash {head.hash[:16]}…, "
            f"last link is seq {prev.seq} hash {prev.hash[:16]}…"
        )
        return report(BrokenLink("chain_head", head.seq, "", reason), prev)
    return report(None, prev)
