"""Stored JSON keeps the text it had with Python's own encoder.

Chain digests hash stored bodies and re-encode their columns, and retries are found by
fingerprints stored long ago: the canonical text of a value must not change when the
encoder does. Stored records hold no floats, which the two encoders write differently.
"""

from __future__ import annotations

import json
from typing import Any

from departure_screening.pipeline import fingerprint
from departure_screening.store.codec import canonical
from hypothesis import given, settings
from hypothesis import strategies as st


def json_text(value: Any) -> str:
    """The canonical text as it was first defined."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# Any text a request or a rule can carry: every plane, control characters, quotes.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)))
SCALARS = st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | TEXT
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner) | st.dictionaries(TEXT, inner), max_leaves=25
)


@settings(max_examples=500)
@given(VALUES)
def test_the_canonical_text_is_the_one_json_gave(value: Any) -> None:
    assert canonical(value) == json_text(value)


@settings(max_examples=150)
@given(st.dictionaries(TEXT, VALUES, max_size=8))
def test_fingerprints_encode_as_they_did_when_first_stored(value: dict[str, Any]) -> None:
    assert fingerprint._canonical(value) == json_text(value)


def test_keys_sort_by_code_point_across_planes() -> None:
    value = {"\U0001f600": 1, "\uffff": 2, "z": 3, "é": 4, "A": 5}
    assert canonical(value) == json_text(value)
    assert canonical(value).index("\uffff") < canonical(value).index("\U0001f600")
