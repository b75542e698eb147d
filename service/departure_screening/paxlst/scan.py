"""Decoding a PAXLST file and locating its segments, so an error can name where it is."""

from __future__ import annotations

import codecs
from dataclasses import dataclass

DEFAULT_SERVICE_CHARS = ":+.? '"


class PaxlstSyntaxError(ValueError):
    """A file that is not a readable PAXLST interchange; nothing of it is returned."""

    def __init__(self, reason: str, *, segment: str, index: int, offset: int) -> None:
        self.reason = reason
        self.segment = segment
        self.index = index
        self.offset = offset
        super().__init__(f"{reason}: segment {segment or '?'} #{index} at byte {offset}")


@dataclass(frozen=True, slots=True)
class Scanned:
    text: str
    # Byte offset in the original file of each segment's first character.
    offsets: tuple[int, ...]
    tags: tuple[str, ...]


def decode(data: bytes) -> tuple[str, int, str]:
    """The text from its first segment, the bytes of BOM or whitespace before it, the encoding."""
    skipped = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    body = data[skipped:]
    stripped = body.lstrip()
    skipped += len(body) - len(stripped)
    try:
        # UNOA/UNOB are ASCII subsets and UNOC is Latin-1; UTF-8 reads the first two exactly.
        return stripped.decode("utf-8"), skipped, "utf-8"
    except UnicodeDecodeError:
        return stripped.decode("latin-1"), skipped, "latin-1"


def scan(text: str, base: int, encoding: str = "utf-8") -> Scanned:
    """Segment start offsets and tags, honouring the UNA service characters and release."""
    chars = text[3:9] if text.startswith("UNA") else DEFAULT_SERVICE_CHARS
    release, terminator = chars[3], chars[5]
    offsets: list[int] = []
    tags: list[str] = []
    i = 0
    if text.startswith("UNA"):
        offsets.append(base)
        tags.append("UNA")
        i = 9
    start: int | None = None
    byte = base + len(text[:i].encode(encoding))
    while i < len(text):
        ch = text[i]
        if start is None:
            if ch in "\r\n\t ":
                byte += len(ch.encode(encoding))
                i += 1
                continue
            start = i
            offsets.append(byte)
            tags.append(text[i : i + 3])
        step = 2 if ch == release and i + 1 < len(text) else 1
        if ch == terminator:
            start = None
        byte += len(text[i : i + step].encode(encoding))
        i += step
    return Scanned(text, tuple(offsets), tuple(tags))
