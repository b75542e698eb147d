"""Writes the committed seed corpus: ``python -m tests.fuzz.seeds``.

Request seeds are serialised ``ScreenRequest``s of realistic screenings (made-up
travellers) and of edge cases; ruleset seeds are the shipped files and mutations of
them; token seeds real and attacked officer tokens; certificate seeds device
certificates of every kind the identity code tells apart; bundle seeds a signed bundle of
the shipped rules and hostile variants. libFuzzer starts from
these instead of from nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from departure_screening.access import devcerts
from departure_screening.screening.bundle import MANIFEST, SIGNATURES, make_bundle
from departure_screening.screening.ruleset import (
    INDICATORS_FILE,
    RULESET_FILE,
    default_rules_dir,
)
from departure_screening.v1 import screening_pb2 as pb
from google.type.date_pb2 import Date

from . import device_certificate, officer_token
from .bundle_reader import SIGNING_KEY
from .harness import CORPUS
from .ruleset_loader import join


def _date(text: str) -> Date:
    year, month, day = (int(x) for x in text.split("-"))
    return Date(year=year, month=month, day=day)


def neutral(n: int) -> pb.Screening:
    """A traveller on whom nothing fires."""
    return pb.Screening(
        request_id=f"CGK-2026-03-01-{n:06d}",
        checkpoint="CGK",
        mode=pb.MODE_LIVE,
        officer_id="officer-17",
        traveller=pb.Traveller(
            passport_number=f"A{n:07d}",
            nationality="ID",
            birth_date=_date("1990-06-15"),
            passport_issue_date=_date("2022-01-10"),
        ),
        trip=pb.Trip(
            flight_number="GA820",
            departure_date=_date("2026-03-01"),
            destination_country="SG",
            has_return_ticket=True,
            booking_reference="XK4P2Q",
        ),
        declaration=pb.Declaration(purpose=pb.PURPOSE_TOURISM, visa_type=pb.VISA_TYPE_VISA_EXEMPT),
    )


def _edit(n: int, change: Callable[[pb.Screening], object]) -> pb.ScreenRequest:
    s = neutral(n)
    change(s)
    return pb.ScreenRequest(screening=s)


def _scam_recruit(s: pb.Screening) -> None:
    s.traveller.birth_date.CopyFrom(_date("2004-02-29"))
    s.traveller.passport_issue_date.CopyFrom(_date("2026-02-10"))
    s.trip.destination_country = "KH"
    s.trip.flight_number = "QZ262"
    s.trip.has_return_ticket = False
    s.trip.ClearField("booking_reference")
    s.observations.extend([pb.OBSERVATION_CARRIES_JOB_OFFER, pb.OBSERVATION_INCONSISTENT_ANSWERS])


def _escorted_group(s: pb.Screening) -> None:
    _scam_recruit(s)
    s.trip.escort_passport_number = "B7654321"
    s.trip.transit_countries.extend(["MY", "TH"])


def _placement(s: pb.Screening) -> None:
    s.trip.destination_country = "MY"
    s.declaration.purpose = pb.PURPOSE_WORK
    s.declaration.visa_type = pb.VISA_TYPE_WORK
    s.declaration.disnaker_recommendation_number = "560/1234/DISNAKER/2026"
    s.declaration.bp2mi_registration_number = "BP2MI-2026-0001234"


def _training(s: pb.Screening) -> None:
    s.mode = pb.MODE_TRAINING
    s.checkpoint = "ENTIKONG"
    s.trip.destination_country = "MM"
    s.trip.transit_countries.extend(["TH", "LA", "KH", "VN", "MY", "SG", "PH", "BN"])
    s.trip.tour_operator_license = "TOUR-LIC-00123"


def _bad_fields(s: pb.Screening) -> None:
    s.request_id = "no spaces allowed"
    s.checkpoint = "XXX"
    s.mode = 99
    s.trip.departure_date.CopyFrom(_date("2026-02-30"))
    s.trip.destination_country = "kh"
    s.trip.transit_countries.extend(["ZZ"] * 9)
    s.traveller.passport_number = "a-1"
    s.traveller.birth_date.CopyFrom(_date("2027-01-01"))
    s.declaration.purpose = 42
    s.officer_id = "officer\x00"
    s.observations.extend([0, 77])


def _far_dates(s: pb.Screening) -> None:
    s.traveller.birth_date.CopyFrom(_date("0001-01-01"))
    s.traveller.passport_issue_date.CopyFrom(_date("0001-01-01"))
    s.trip.departure_date.CopyFrom(_date("9999-12-31"))


def _missing_parts(s: pb.Screening) -> None:
    s.ClearField("traveller")
    s.ClearField("declaration")
    s.trip.ClearField("departure_date")


def _long_text(s: pb.Screening) -> None:
    s.officer_id = "ô" * 64
    s.trip.booking_reference = "\u0a00" * 16
    s.declaration.disnaker_recommendation_number = "x" * 65


REQUESTS: dict[str, pb.ScreenRequest] = {
    "neutral": pb.ScreenRequest(screening=neutral(1)),
    "scam-recruit": _edit(2, _scam_recruit),
    "escorted-group": _edit(3, _escorted_group),
    "placement": _edit(4, _placement),
    "training-many-transits": _edit(5, _training),
    "bad-fields": _edit(6, _bad_fields),
    "far-dates": _edit(7, _far_dates),
    "missing-parts": _edit(8, _missing_parts),
    "long-text": _edit(9, _long_text),
    "empty": pb.ScreenRequest(),
    "empty-screening": pb.ScreenRequest(screening=pb.Screening()),
}


def ruleset_seeds() -> dict[str, bytes]:
    rules = default_rules_dir()
    meta_text = (rules / RULESET_FILE).read_bytes()
    body_text = (rules / INDICATORS_FILE).read_bytes()
    meta = yaml.safe_load(meta_text)
    body = yaml.safe_load(body_text)

    def dump(value: object) -> bytes:
        return yaml.safe_dump(value, sort_keys=False, allow_unicode=True).encode()

    seeds = {"shipped": join(meta_text, body_text), "shipped-ruleset-only": meta_text}
    # Mutations an analyst could make, each refused for its own reason.
    m = yaml.safe_load(meta_text)
    m["bands"].reverse()
    m["lists"]["watchlist"]["XX"] = 101
    m["context"]["group_alert_members"] = 0
    seeds["bad-bands-lists-context"] = join(dump(m), body_text)
    b = yaml.safe_load(body_text)
    first, second = b["indicators"][0], b["indicators"][1]
    first["when"] = {"$or": [{"passport_number": "X"}, {"$iany": {"observations": {"$i": 3}}}]}
    second["code"] = first["code"]
    second["weight"] = 500
    second["evidence"] = ["nope"]
    seeds["bad-indicators"] = join(meta_text, dump(b))
    small = {"indicators": [body["indicators"][0], body["indicators"][-1]]}
    seeds["two-indicators"] = join(dump(meta), dump(small))
    seeds["not-yaml"] = join(b"bands: [\n", b"indicators: {")
    seeds["scalars"] = join(b"42\n", b"- just\n- a list\n")
    seeds["anchors"] = join(
        meta_text,
        b"indicators:\n- &i {code: A, weight: 1, title: t, title_id: t, description: d,\n"
        b"    legal_basis: [x], remedy: r, when: &w {$and: [{work_intent: true}]}}\n"
        b"- {<<: *i, code: B, when: {$or: [*w, *w]}}\n",
    )
    return seeds


# Far ahead, so that the seed tokens stay valid (and reach every check) for years.
_FAR = 4_102_444_800  # 2100-01-01


def token_seeds() -> dict[str, bytes]:
    """Real tokens signed with the harness's key, the classic attacks, and signed odd parts."""
    claims: dict[str, object] = {
        "iss": officer_token.ISSUER,
        "aud": officer_token.AUDIENCE,
        "sub": "officer-17",
        "iat": 1_767_225_600,
        "exp": _FAR,
    }
    header = {"alg": "ES256", "typ": "JWT", "kid": officer_token.KID}
    bound = {
        **claims,
        "checkpoint": "CGK",
        "cnf": {"x5t#S256": officer_token.DEVICE.cert_thumbprint},
    }

    def token(head: dict[str, object], body: dict[str, object]) -> bytes:
        signing = officer_token.SIGNER.sign(json.dumps(head).encode(), json.dumps(body).encode())
        return signing.encode()

    def unsigned(head: dict[str, object], body: dict[str, object]) -> bytes:
        parts = (json.dumps(head).encode(), json.dumps(body).encode())
        return ".".join(officer_token._b64(p) for p in parts).encode() + b"."

    signed = officer_token.signed
    return {
        "valid": token(header, claims),
        "bound": token(header, bound),
        "no-kid": token({"alg": "ES256"}, claims),
        "expired": token(header, {**claims, "exp": 1_767_225_700}),
        "wrong-issuer": token(header, {**claims, "iss": "https://elsewhere.example"}),
        "audience-list": token(header, {**claims, "aud": ["other", officer_token.AUDIENCE]}),
        "other-checkpoint": token(header, {**bound, "checkpoint": "DPS"}),
        "alg-none": unsigned({"alg": "none", "typ": "JWT"}, claims),
        "hs256": unsigned({"alg": "HS256", "kid": officer_token.KID}, claims) + b"c2lnbmF0dXJl",
        "unknown-kid": token({**header, "kid": "other"}, claims),
        "empty": b"",
        "dots": b"..",
        "signed-cnf-text": signed(header, {**claims, "cnf": {"x5t#S256": "\u00e9t\u00e9"}}),
        "signed-cnf-list": signed(header, {**claims, "cnf": ["x5t#S256"]}),
        "signed-checkpoint-number": signed(header, {**claims, "checkpoint": 7}),
        "signed-sub-number": signed(header, {**claims, "sub": 17}),
        "signed-sub-long": signed(header, {**claims, "sub": "x" * 65}),
        "signed-exp-text": signed(header, {**claims, "exp": "2100-01-01"}),
        "signed-nbf": signed(header, {**claims, "nbf": _FAR - 1}),
        "signed-kid-number": signed({**header, "kid": 7}, claims),
        "signed-header-list": officer_token.SIGNED + b"[1]\n" + json.dumps(claims).encode(),
        "signed-not-json": officer_token.SIGNED + b"{\n{",
    }


def certificate_seeds() -> dict[str, bytes]:
    """Device certificates of every kind the identity code tells apart, PEM and DER."""
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    ca = devcerts.make_ca(now)
    client = ExtendedKeyUsageOID.CLIENT_AUTH
    uri = x509.UniformResourceIdentifier
    domain = device_certificate.TRUST_DOMAIN
    kinds: dict[str, list[x509.GeneralName]] = {
        "counter": [uri(devcerts.device_id(domain, "counter", "lane-01", "CGK"))],
        "supervisor-dps": [uri(devcerts.device_id(domain, "supervisor", "console-01", "DPS"))],
        "auditor": [uri(devcerts.device_id(domain, "auditor", "itjen-01"))],
        "other-domain": [uri(devcerts.device_id("example.org", "counter", "lane-01", "CGK"))],
        "two-uris": [
            uri(devcerts.device_id(domain, "counter", "lane-01", "CGK")),
            uri(devcerts.device_id(domain, "auditor", "itjen-01")),
        ],
        "unknown-checkpoint": [uri(devcerts.device_id(domain, "counter", "lane-01", "XYZ"))],
        "dot-segment": [uri(f"spiffe://{domain}/checkpoint/CGK/counter/..")],
        "dns-only": devcerts.server_names(),
    }
    seeds: dict[str, bytes] = {}
    for name, names in kinds.items():
        cert, _ = devcerts.make_leaf(ca, now, name, names, client)
        seeds[f"{name}.pem"] = cert.public_bytes(serialization.Encoding.PEM)
        seeds[f"{name}.der"] = cert.public_bytes(serialization.Encoding.DER)
    seeds["ca.der"] = ca.cert.public_bytes(serialization.Encoding.DER)
    seeds["empty"] = b""
    return seeds


def _members(bundle: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _lying_sizes(bundle: bytes, claimed: int) -> bytes:
    """Every member's uncompressed size, in both headers, said to be ``claimed``."""
    data = bytearray(bundle)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        while at >= 0:
            data[at + offset : at + offset + 4] = claimed.to_bytes(4, "little")
            at = data.find(signature, at + 4)
    return bytes(data)


def bundle_seeds() -> dict[str, bytes]:
    """A valid signed bundle of the shipped rules, and variants a reader must refuse."""
    created = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    signed = make_bundle(default_rules_dir(), [SIGNING_KEY], note="seed", now=created)
    members = _members(signed)
    manifest = json.loads(members[MANIFEST])
    seeds = {
        "signed": signed,
        "unsigned": make_bundle(default_rules_dir(), [], now=created),
        "stored": _zip(members, zipfile.ZIP_STORED),
        "bzip2": _zip(members, zipfile.ZIP_BZIP2),
        "lzma": _zip(members, zipfile.ZIP_LZMA),
        "with-directories": _zip({"tests/": b"", **members}),
        "file-added": _zip({**members, "extra.yaml": b"bands: []\n"}),
        "file-changed": _zip({**members, RULESET_FILE: members[RULESET_FILE] + b"\n# edit\n"}),
        "file-removed": _zip({k: v for k, v in members.items() if k != INDICATORS_FILE}),
        "manifest-missing-keys": _zip(
            {**members, MANIFEST: json.dumps({"files": manifest["files"]}).encode()}
        ),
        "signatures-not-base64": _zip({**members, SIGNATURES: b'{"k": "%%%"}'}),
        "not-json": _zip({**members, MANIFEST: b"\xff{", SIGNATURES: b"[1, 2"}),
        "path-tricks": _zip({"../escape.yaml": b"x", "/abs.yaml": b"y", "a\\b.yaml": b"z"}),
        "too-many-files": _zip({f"f{i}.yaml": b"" for i in range(70)}),
        "bomb": _zip({RULESET_FILE: b"\0" * (5 << 20)}),
        "lying-sizes": _lying_sizes(signed, 16),
        "truncated": signed[: len(signed) // 2],
        "not-a-zip": b"bands:\n- {name: LOW, min_score: 0}\n",
        "empty": b"",
    }
    return seeds


def write() -> None:
    seeds: dict[str, dict[str, bytes]] = {
        "request_path": {n: r.SerializeToString() for n, r in REQUESTS.items()},
        "ruleset_loader": ruleset_seeds(),
        "bundle_reader": bundle_seeds(),
        officer_token.NAME: token_seeds(),
        device_certificate.NAME: certificate_seeds(),
    }
    for harness, files in seeds.items():
        directory = CORPUS / harness
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.iterdir():
            old.unlink()
        for name, data in files.items():
            (directory / name).write_bytes(data)


if __name__ == "__main__":
    write()
