import pytest
from departure_screening.countries import COUNTRY_CODES
from departure_screening.paxlst.airports import airport_country
from departure_screening.paxlst.alpha3 import ALPHA3_TO_ALPHA2


@pytest.mark.parametrize(
    ("code", "country"),
    [
        ("CGK", "ID"), ("SUB", "ID"), ("KNO", "ID"), ("DPS", "ID"),
        ("KUL", "MY"), ("SIN", "SG"), ("BKK", "TH"), ("DMK", "TH"), ("SGN", "VN"),
        ("KTI", "KH"), ("SAI", "KH"), ("PNH", "KH"), ("REP", "KH"), ("kul", "MY"),
    ],
)  # fmt: skip
def test_airports_map_to_countries_from_the_offline_set(code: str, country: str) -> None:
    assert airport_country(code) == country


@pytest.mark.parametrize("code", ["ZZZ", "", "KULX"])
def test_unknown_airports(code: str) -> None:
    assert airport_country(code) is None


def test_alpha3_table_gives_known_alpha2_codes() -> None:
    assert len(ALPHA3_TO_ALPHA2) == 250
    assert set(ALPHA3_TO_ALPHA2.values()) <= COUNTRY_CODES
    assert ALPHA3_TO_ALPHA2["IDN"] == "ID" and ALPHA3_TO_ALPHA2["KHM"] == "KH"
