import pytest
from departure_screening.paxlst import PassengerRecord, PaxlstSyntaxError, Rejection, read_paxlst
from support.paxlst_builder import interchange, message, one, passenger


def _error(data: bytes) -> PaxlstSyntaxError:
    with pytest.raises(PaxlstSyntaxError) as caught:
        read_paxlst(data)
    return caught.value


def test_wrong_segment_count_names_unt_and_its_position() -> None:
    data = one(passenger()).replace(b"UNT+", b"UNT+9")
    error = _error(data)
    assert error.segment == "UNT"
    assert data[error.offset :].startswith(b"UNT+9")
    segments = data.split(b"'")
    assert segments[error.index].startswith(b"UNT")
    assert "UNT" in str(error) and f"#{error.index}" in str(error)
    assert f"byte {error.offset}" in str(error)


def test_offset_counts_the_bom() -> None:
    data = b"\xef\xbb\xbf" + one(passenger()).replace(b"UNT+", b"UNT+9")
    error = _error(data)
    assert data[error.offset :].startswith(b"UNT+9")


def test_bad_segment_tag_is_named() -> None:
    data = one(passenger()).replace(b"ATT+2++M'", b"AT+2++M'")
    error = _error(data)
    assert data[error.offset :].startswith(b"AT+2")
    assert error.segment == "AT+"


def test_unterminated_file() -> None:
    data = one(passenger())[:-1]
    error = _error(data)
    assert error.segment == "UNZ"
    assert data[error.offset :].startswith(b"UNZ")


@pytest.mark.parametrize(
    ("mangle", "segment"),
    [
        (lambda d: d.replace(b"UNZ+1+IC1'", b""), "UNT"),  # no UNZ: the last segment is named
        (lambda d: d.replace(b"UNT+", b"XXT+"), "UNH"),  # the message never closed
        (lambda d: d + d[9:], "UNZ"),  # two interchanges in one file
        (lambda d: d.replace(b"PAXLST:D:05B", b"PAXLST:D:12B"), "UNH"),
        (lambda d: d.replace(b"PAXLST:D:05B", b"CUSRES:D:05B"), "UNH"),
        (lambda d: d.replace(b"UNZ+1", b"UNZ+2"), "UNZ"),
        (lambda d: d.replace(b"BGM+745", b"BGM+999"), "BGM"),
        (lambda d: d.replace(b"DTM+189:2603121030:201", b"DTM+189:2613121030:201"), "DTM"),
        (lambda d: d.replace(b"TDT+20+GA820", b"TDT+12+GA820"), "UNH"),
    ],
)
def test_structural_errors_name_a_segment(mangle: object, segment: str) -> None:
    assert callable(mangle)
    data = one(passenger(), passenger(number="C7654321"))
    error = _error(mangle(data))
    assert error.segment == segment
    assert mangle(data)[error.offset :].startswith(segment.encode())


def test_errors_never_show_a_passport_number() -> None:
    data = one(passenger(number="C1234567")).replace(b"C1234567'", b"C1234567")
    error = _error(data)
    assert "C1234567" not in str(error)


def test_passengers_without_passport_rejected_one_by_one() -> None:
    people = [
        passenger(number="C0000001"),
        passenger(doc="I", number="3174000000000001"),
        passenger(number="C0000003"),
        passenger(doc="V", number="V0000004"),
        passenger(number="C0000005"),
    ]
    [manifest] = read_paxlst(one(*people)).manifests
    assert [type(p).__name__ for p in manifest.passengers] == [
        "PassengerRecord", "Rejection", "PassengerRecord", "Rejection", "PassengerRecord",
    ]  # fmt: skip
    assert [r.passport_number for r in manifest.records] == ["C0000001", "C0000003", "C0000005"]
    assert [(r.ordinal, r.reason) for r in manifest.rejections] == [
        (2, "no passport document (DOC+P)"),
        (4, "no passport document (DOC+P)"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"final": "ZZZ"}, "unknown airport ZZZ"),
        ({"birth": "851332"}, "bad birth date (DTM+329)"),
        ({"issue": "20AB01"}, "bad passport issue date (DTM+182)"),
        ({"nat": "XYZ"}, "unknown nationality XYZ"),
    ],
)
def test_other_rejections_keep_the_rest(kwargs: dict[str, str], reason: str) -> None:
    bad = passenger(number="C9876543", **kwargs)  # type: ignore[arg-type]
    [manifest] = read_paxlst(one(passenger(), bad, passenger(number="C7654321"))).manifests
    [rejection] = manifest.rejections
    assert isinstance(rejection, Rejection)
    assert (rejection.ordinal, rejection.reason) == (2, reason)
    assert rejection.passport_masked == "*****543"
    assert "C9876543" not in repr(rejection)
    assert len(manifest.records) == 2
    assert all(isinstance(p, PassengerRecord) for p in manifest.records)


def test_missing_birth_date_rejected() -> None:
    person = [s for s in passenger() if not s.startswith("DTM+329")]
    [manifest] = read_paxlst(one(person)).manifests
    assert [r.reason for r in manifest.rejections] == ["no birth date (DTM+329)"]


def test_crew_list_skipped_and_counted() -> None:
    crew = message(["NAD+FM+++LESTARI:SRI", "NAT+2+IDN", "DOC+P:110:111+X1111111"], kind="250")
    result = read_paxlst(interchange(message(passenger()), crew))
    assert result.crew_lists_skipped == 1
    [manifest] = result.manifests
    assert [r.passport_number for r in manifest.records] == ["C1234567"]
    only_crew = read_paxlst(interchange(crew, groups=True))
    assert (only_crew.manifests, only_crew.crew_lists_skipped) == ((), 1)
