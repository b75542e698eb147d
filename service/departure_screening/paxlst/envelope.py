"""Parsing with pydifact and checking the interchange envelope, naming any fault's place."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from pydifact.exceptions import EDISyntaxError
from pydifact.parser import Parser

from departure_screening.paxlst.scan import PaxlstSyntaxError, Scanned

Element = str | list[str]
VERSIONS = frozenset({("D", "05B"), ("D", "02B")})
_ENVELOPE = frozenset({"UNA", "UNB", "UNG", "UNE", "UNZ"})


@dataclass(frozen=True, slots=True)
class Seg:
    tag: str
    elements: tuple[Element, ...]
    index: int
    offset: int

    def el(self, position: int, component: int = 0) -> str:
        """A component of an element, ``""`` when absent; a simple element is component 0."""
        if position >= len(self.elements):
            return ""
        value = self.elements[position]
        if isinstance(value, str):
            return value if component == 0 else ""
        return value[component] if component < len(value) else ""

    def parts(self, position: int) -> list[str]:
        if position >= len(self.elements):
            return []
        value = self.elements[position]
        return [value] if isinstance(value, str) else list(value)


def error(reason: str, seg: Seg) -> PaxlstSyntaxError:
    return PaxlstSyntaxError(reason, segment=seg.tag, index=seg.index, offset=seg.offset)


def parse(scanned: Scanned) -> list[Seg]:
    out: list[Seg] = []

    def here() -> tuple[str, int, int]:
        i = len(out)
        if i < len(scanned.offsets):
            return scanned.tags[i], i, scanned.offsets[i]
        end = scanned.offsets[-1] if scanned.offsets else 0
        return "", i, end

    # pydifact warns for every segment it has no directory for; PAXLST is not in its set.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            for segment in Parser().parse(scanned.text):
                tag, i, offset = here()
                out.append(Seg(segment.tag, tuple(segment.elements), i, offset))
        except (EDISyntaxError, ValueError, IndexError) as exc:
            tag, i, offset = here()
            reason = str(exc).removeprefix("EDIFACT Syntax Error: ")
            raise PaxlstSyntaxError(reason, segment=tag, index=i, offset=offset) from None
    if not out:
        raise PaxlstSyntaxError("empty file", segment="", index=0, offset=0)
    return out


def messages(segments: list[Seg]) -> tuple[Seg, list[list[Seg]]]:
    """The UNB and each UNH…UNT message, after checking one well-formed interchange."""
    body = segments[1:] if segments[0].tag == "UNA" else segments
    if not body or body[0].tag != "UNB":
        raise error("an interchange starts with UNB", body[0] if body else segments[0])
    unb = body[0]
    if body[-1].tag != "UNZ":
        raise error("the interchange does not end with UNZ", body[-1])
    found: list[list[Seg]] = []
    current: list[Seg] | None = None
    group_open: Seg | None = None
    groups = 0
    for seg in body[1:-1]:
        if seg.tag == "UNH":
            if current is not None:
                raise error("message not closed by UNT before the next UNH", seg)
            _check_header(seg)
            current = [seg]
        elif seg.tag == "UNT":
            if current is None:
                raise error("UNT without UNH", seg)
            current.append(seg)
            if seg.el(0) != str(len(current)):
                raise error(f"UNT counts {seg.el(0)} segments, the message has {len(current)}", seg)
            found.append(current)
            current = None
        elif current is not None:
            if seg.tag in _ENVELOPE:
                raise error("envelope segment inside a message", seg)
            current.append(seg)
        elif seg.tag == "UNG":
            if group_open is not None:
                raise error("UNG inside an open functional group", seg)
            group_open, groups = seg, groups + 1
        elif seg.tag == "UNE":
            if group_open is None:
                raise error("UNE without UNG", seg)
            group_open = None
        elif seg.tag == "UNZ":
            raise error("the file goes on after the end of its interchange", seg)
        elif seg.tag == "UNB":
            raise error("a second interchange in one file", seg)
        else:
            raise error("segment outside a message", seg)
    if current is not None:
        raise error("message not closed by UNT", current[0])
    if group_open is not None:
        raise error("functional group not closed by UNE", group_open)
    expected = groups or len(found)
    if body[-1].el(0) != str(expected):
        raise error(f"UNZ counts {body[-1].el(0)}, the interchange has {expected}", body[-1])
    return unb, found


def _check_header(unh: Seg) -> None:
    kind, version, release = unh.el(1, 0), unh.el(1, 1), unh.el(1, 2)
    if kind != "PAXLST":
        raise error(f"message type {kind or '?'} is not PAXLST", unh)
    if (version, release) not in VERSIONS:
        raise error(f"PAXLST {version}:{release} is not D:05B or D:02B", unh)
