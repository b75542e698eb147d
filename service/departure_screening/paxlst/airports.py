"""IATA airport code → ISO 3166-1 alpha-2 country, from the offline ``airportsdata`` set."""

from __future__ import annotations

from functools import cache

import airportsdata

# Codes retired when a new airport replaced the old one (Phnom Penh PNH → KTI in 2025,
# Siem Reap REP → SAI in 2023); carriers' older systems still send them.
RETIRED_CODES = {"PNH": "KH", "REP": "KH"}


@cache
def _iata() -> dict[str, str]:
    return {code: row["country"] for code, row in airportsdata.load("IATA").items()}


def airport_country(code: str) -> str | None:
    """The country of an airport, or None when the code is not a known IATA airport."""
    code = code.strip().upper()
    return _iata().get(code) or RETIRED_CODES.get(code)
