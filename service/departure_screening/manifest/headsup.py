"""The heads-up list of one flight: who to talk to at the counter, who shares a booking.

Written three ways: ``headsup.json`` (the whole list), ``headsup.html`` for the
supervisor and ``headsup.csv`` for the counter software. Passport numbers are masked
in all of them; every view says it is for examination at the counter, not a decision.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BANNER = "For examination at the counter, not a decision."
BANDS = ("LOW", "ELEVATED", "HIGH")
CSV_COLUMNS = (
    "passport",
    "band",
    "score",
    "fired",
    "not_evaluated",
    "booking_reference",
    "assessment_id",
)


@dataclass(frozen=True, slots=True)
class Traveller:
    passport: str  # masked
    band: str
    score: int
    fired: tuple[str, ...]
    not_evaluated: tuple[str, ...]
    booking_reference: str
    assessment_id: str
    # The passenger's place in the manifest, to find it again; not written out.
    ordinal: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "passport": self.passport,
            "band": self.band,
            "score": self.score,
            "fired": list(self.fired),
            "not_evaluated": list(self.not_evaluated),
            "booking_reference": self.booking_reference,
            "assessment_id": self.assessment_id,
        }


@dataclass(frozen=True, slots=True)
class Rejected:
    ordinal: int
    passport: str  # masked; empty when the passenger had no passport document
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"ordinal": self.ordinal, "passport": self.passport, "reason": self.reason}


@dataclass
class HeadsUp:
    flight: str
    departure_date: dt.date
    checkpoint: str
    passengers: int = 0
    travellers: list[Traveller] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def add(self, traveller: Traveller) -> None:
        self.travellers.append(traveller)

    def reject(self, ordinal: int, passport_masked: str, reason: str) -> None:
        self.rejected.append(Rejected(ordinal, passport_masked, reason))

    def sorted_travellers(self) -> list[Traveller]:
        """Highest band first, then score, then booking: whom to talk to first."""
        return sorted(
            self.travellers,
            key=lambda t: (-BANDS.index(t.band), -t.score, t.booking_reference, t.passport),
        )

    def bookings(self) -> list[dict[str, Any]]:
        """Each booking shared by two or more screened travellers, with its members."""
        members: dict[str, list[Traveller]] = defaultdict(list)
        for t in self.sorted_travellers():
            if t.booking_reference:
                members[t.booking_reference].append(t)
        return [
            {
                "booking_reference": ref,
                "members": [
                    {"passport": t.passport, "band": t.band, "assessment_id": t.assessment_id}
                    for t in group
                ],
            }
            for ref, group in sorted(members.items())
            if len(group) >= 2
        ]

    def to_json(self) -> dict[str, Any]:
        bands = {band: 0 for band in BANDS}
        for t in self.travellers:
            bands[t.band] += 1
        return {
            "flight": self.flight,
            "departure_date": self.departure_date.isoformat(),
            "checkpoint": self.checkpoint,
            "notice": BANNER,
            "passengers": self.passengers,
            "screened": len(self.travellers),
            "rejected": [r.to_json() for r in self.rejected],
            "bands": bands,
            "travellers": [t.to_json() for t in self.sorted_travellers()],
            "bookings": self.bookings(),
        }

    def directory_name(self) -> str:
        return f"{self.flight}-{self.departure_date.isoformat()}"

    def write(self, out: Path) -> Path:
        """Write the three files into ``out/<flight>-<date>/``; returns that directory."""
        target = out / self.directory_name()
        target.mkdir(parents=True, exist_ok=True)
        document = self.to_json()
        (target / "headsup.json").write_text(
            json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        self._write_csv(target / "headsup.csv")
        (target / "headsup.html").write_text(render_html(document), encoding="utf-8")
        return target

    def _write_csv(self, path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(CSV_COLUMNS)
            for t in self.sorted_travellers():
                writer.writerow(
                    (
                        t.passport,
                        t.band,
                        t.score,
                        " ".join(t.fired),
                        " ".join(t.not_evaluated),
                        t.booking_reference,
                        t.assessment_id,
                    )
                )


_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
    ".banner{background:#fff3cd;border:1px solid #e0c36b;padding:.6em;font-weight:bold}"
    ".HIGH{background:#f8d7da}.ELEVATED{background:#fff3cd}"
)


def _row(cells: list[str], css: str = "") -> str:
    attr = f' class="{css}"' if css else ""
    return f"<tr{attr}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"


def render_html(document: dict[str, Any]) -> str:
    """The supervisor's page: the banner, travellers by band, shared bookings grouped."""
    e = html.escape
    title = f"Heads-up {document['flight']} {document['departure_date']}"
    bands = ", ".join(f"{band} {n}" for band, n in document["bands"].items())
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<p class='banner'>{e(BANNER)}</p>",
        f"<h1>{e(title)} — {e(document['checkpoint'])}</h1>",
        f"<p>{document['passengers']} passengers, {document['screened']} screened,"
        f" {len(document['rejected'])} rejected. {e(bands)}.</p>",
        "<h2>Travellers</h2><table><tr><th>passport</th><th>band</th><th>score</th>"
        "<th>fired</th><th>not evaluated</th><th>booking</th></tr>",
    ]
    for t in document["travellers"]:
        cells = [
            t["passport"],
            t["band"],
            str(t["score"]),
            ", ".join(t["fired"]),
            ", ".join(t["not_evaluated"]),
            t["booking_reference"],
        ]
        parts.append(_row(cells, t["band"]))
    parts.append("</table><h2>Shared bookings</h2>")
    if not document["bookings"]:
        parts.append("<p>None.</p>")
    for booking in document["bookings"]:
        parts.append(f"<h3>{e(booking['booking_reference'])}</h3><table>")
        for m in booking["members"]:
            parts.append(_row([m["passport"], m["band"], m["assessment_id"]], m["band"]))
        parts.append("</table>")
    if document["rejected"]:
        parts.append("<h2>Not screened</h2><table><tr><th>#</th><th>passport</th><th>why</th></tr>")
        for r in document["rejected"]:
            parts.append(_row([str(r["ordinal"]), r["passport"], r["reason"]]))
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "".join(parts)
