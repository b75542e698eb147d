import time

from departure_screening.paxlst import PassengerRecord, Rejection, read_paxlst
from departure_screening.paxlst.generate import generate, generate_bytes, main
from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_generated_messages_read_back_to_their_ground_truth(seed: int) -> None:
    made = generate(seed)
    result = read_paxlst(made.data)
    assert result.crew_lists_skipped == made.crew_lists
    [manifest] = result.manifests
    flight = manifest.flight
    assert (flight.flight_number, flight.departure_date) == (
        made.flight_number,
        made.departure_date,
    )
    assert (flight.departure_airport, flight.arrival_airport) == (
        made.departure_airport,
        made.arrival_airport,
    )
    assert flight.departure_country == "ID"
    assert len(manifest.passengers) == len(made.passengers)
    for got, want in zip(manifest.passengers, made.passengers, strict=True):
        if want.rejected:
            assert isinstance(got, Rejection)
            assert got.reason == want.rejected
            continue
        assert isinstance(got, PassengerRecord)
        assert got.passport_number == want.passport_number
        assert (got.surname, got.given_names) == (want.surname, want.given_names)
        assert got.nationality == want.nationality
        assert got.birth_date == want.birth_date
        assert got.passport_issue_date == want.passport_issue_date
        assert got.destination_country == want.destination_country
        assert got.transit_countries == want.transit_countries
        assert got.booking_reference == want.booking_reference


def test_deterministic_by_seed() -> None:
    assert generate_bytes(7) == generate_bytes(7)
    assert generate_bytes(7) != generate_bytes(8)


def test_seeds_cover_the_carriers_quirks_and_routes() -> None:
    made = [generate(seed) for seed in range(80)]
    quirks = set().union(*(m.quirks for m in made))
    assert {"functional_group", "una", "bom", "newlines", "crew", "missing_issue_date"} <= quirks
    assert {"D:05B", "D:02B"} <= quirks
    assert {m.departure_airport for m in made} == {"CGK", "SUB", "KNO", "DPS"}
    destinations = {p.destination_country for m in made for p in m.passengers}
    assert {"KH", "MY", "TH", "SG", "VN"} <= destinations
    assert any(p.rejected for m in made for p in m.passengers)
    assert any(p.surname == "O'BRIEN" for m in made for p in m.passengers)
    assert any(not p.given_names for m in made for p in m.passengers)
    assert any(b"O?'BRIEN" in m.data for m in made)
    assert any(m.data.startswith(b"\xef\xbb\xbf") for m in made)


def test_three_recruits_on_one_reservation_to_phnom_penh_via_kuala_lumpur() -> None:
    made = next(m for m in map(generate, range(200)) if m.arrival_airport == "KUL")
    first_three = made.passengers[:3]
    assert len({p.booking_reference for p in first_three}) == 1
    assert all(p.destination_country == "KH" for p in first_three)
    assert all(p.transit_countries == ("MY",) for p in first_three)
    [manifest] = read_paxlst(made.data).manifests
    shared = [
        r for r in manifest.records if r.booking_reference == first_three[0].booking_reference
    ]
    assert len(shared) >= 3


def test_command_line_writes_the_message(capsysbinary: object) -> None:
    assert main(["--seed", "5", "--passengers", "4"]) == 0
    out = capsysbinary.readouterr().out  # type: ignore[attr-defined]
    assert out == generate_bytes(5, 4)


def test_reading_rate_of_a_400_passenger_manifest() -> None:
    data = generate_bytes(2026, passengers=400)
    rounds = 5
    started = time.perf_counter()
    for _ in range(rounds):
        [manifest] = read_paxlst(data).manifests
    elapsed = (time.perf_counter() - started) / rounds
    assert len(manifest.passengers) == 400
    print(f"\nPAXLST read: 400 passengers in {elapsed * 1000:.1f} ms, {400 / elapsed:.0f}/s")
