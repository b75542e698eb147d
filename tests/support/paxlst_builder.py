"""Hand-built PAXLST messages for the reader's tests."""

from __future__ import annotations

FLIGHT = [
    "NAD+MS+++API OPERATIONS",
    "TDT+20+GA820+++GA",
    "LOC+125+CGK",
    "DTM+189:2603121030:201",
    "LOC+87+KUL",
    "DTM+232:2603121330:201",
]


def passenger(
    name: str = "SANTOSO:AGUS",
    *,
    birth: str = "850412",
    nat: str = "IDN",
    doc: str = "P",
    number: str = "C1234567",
    issue: str | None = "200115",
    final: str | None = "PNH",
    debark: str | None = "KUL",
    booking: str | None = "ABC123",
) -> list[str]:
    segs = [f"NAD+FL+++{name}", "ATT+2++M", f"DTM+329:{birth}", "LOC+178+CGK"]
    segs += [f"LOC+179+{debark}"] if debark else []
    segs += [f"LOC+22+{final}"] if final else []
    segs += [f"NAT+2+{nat}"]
    segs += [f"RFF+AVF:{booking}"] if booking else []
    segs += [f"DOC+{doc}:110:111+{number}", "DTM+36:300114"]
    segs += [f"DTM+182:{issue}"] if issue else []
    return [*segs, f"LOC+91+{nat}"]


def message(
    *people: list[str], kind: str = "745", version: str = "D:05B", flight: list[str] | None = None
) -> list[str]:
    directory, release = version.split(":")
    body = [*(flight if flight is not None else FLIGHT)]
    body += [s for p in people for s in p]
    segs = [f"UNH+M1+PAXLST:{directory}:{release}:UN:IATA", f"BGM+{kind}", *body, "CNT+42:1"]
    return [*segs, f"UNT+{len(segs) + 1}+M1"]


def interchange(*messages: list[str], groups: bool = False, una: bool = True) -> bytes:
    segs = ["UNB+UNOA:4+CARRIER:ZZ+IDIMIGRASI:ZZ+260312:0800+IC1"]
    body = [s for m in messages for s in m]
    if groups:
        segs += ["UNG+PAXLST+CARRIER+IDIMIGRASI+260312:0800+G1+UN+D:05B", *body]
        segs += [f"UNE+{len(messages)}+G1", "UNZ+1+IC1"]
    else:
        segs += [*body, f"UNZ+{len(messages)}+IC1"]
    text = "".join(s + "'" for s in segs)
    return (("UNA:+.? '" if una else "") + text).encode()


def one(*people: list[str], **kwargs: str) -> bytes:
    return interchange(message(*people, **kwargs))
