"""Masking of personal numbers for anything a person reads (evidence, logs)."""

from __future__ import annotations

VISIBLE_TAIL = 3


def mask_number(value: str) -> str:
    """``C1234567`` → ``*****567``: enough for an officer to match the document in hand."""
    if not value:
        return ""
    tail = value[-VISIBLE_TAIL:] if len(value) > VISIBLE_TAIL * 2 else ""
    return "*" * (len(value) - len(tail)) + tail
