"""Exercise scenarios: the YAML schema, its validation and the bundled files.

A scenario describes a synthetic day (or week) of departures as distributions, not as
literal travellers: a mix of genuine travellers and a list of planted cases. The
generator (``generate.py``) turns it into screenings for one seed. The schema is
documented in ``README.md`` beside this module; in short::

    schema: 1
    name: cambodia-scam-recruitment          # lower-case letters, digits, hyphens
    description: One line shown by `depscreen exercise list`.
    travellers: 400                          # default size, planted cases included
    checkpoint: {CGK: 3, SUB: 1}             # a value, or {value: weight}
    dates: {start: 2024-05-06, end: 2024-05-12}
    flights: {KH: [QZ7830]}                  # optional, extends the built-in table
    heads_up: true                           # optional: flights arrive as PAXLST first
    intended:                                # optional: the service's error rates it is
      false_alarm_rate: [0.05, 0.20]         # built to produce with the shipped rules
      miss_rate: [0.08, 0.30]
    population:                              # genuine travellers (ground truth: not at risk)
      - profile: tourist
        why: ...                             # optional: why such travellers exist
        officer: ...                         # optional: what the officer is expected to do
        share: 30                            # relative weight within the genuine mix
        group_size: [1, 1]                   # optional; members share flight and date
        escort: false                        # optional; a group with a leader
        traveller: {...}                     # a traveller template
    cases:                                   # planted at-risk cases
      - case: photo-editor-recruit
        kind: individual                     # individual | group | returning_escort | retry
        count: 10                            # instances at the default size
        expects: [DESTINATION_WATCHLIST]     # optional: indicators the case is built to show
        traveller: {...}

A traveller template (every key optional except ``destination``, ``purpose``, ``visa``)::

    age: [19, 28]                            # completed years, or {"19-28": 3, "15-17": 1}
    destination: {KH: 3, MM: 1}
    transit: {none: 2, MY: 1, "MY TH": 1}    # space-separated route, "none" = direct
    purpose: tourism                         # tourism family_visit business work study
                                             # pilgrimage other
    visa: {visa_exempt: 4, tourist: 1}       # visa_exempt tourist visa_on_arrival business
                                             # work student pilgrimage
    return_ticket: 0.2                       # probabilities 0..1 (or true/false)
    passport_age_days: {"0-30": 1, "31-3650": 3}
    disnaker: 0.0
    bp2mi: 0.0
    tour_operator_license: 0.0
    observations: {carries_job_offer: 0.3}   # unable_to_explain_purpose inconsistent_answers
                                             # carries_job_offer accompanied_by_recruiter
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml

from departure_screening.countries import COUNTRY_CODES
from departure_screening.v1 import screening_pb2 as pb

SCHEMA_VERSION = 1
SCENARIO_SUFFIXES = (".yaml", ".yml")

KINDS = ("individual", "group", "returning_escort", "retry")
PURPOSES: dict[str, int] = {
    "tourism": pb.PURPOSE_TOURISM,
    "family_visit": pb.PURPOSE_FAMILY_VISIT,
    "business": pb.PURPOSE_BUSINESS,
    "work": pb.PURPOSE_WORK,
    "study": pb.PURPOSE_STUDY,
    "pilgrimage": pb.PURPOSE_PILGRIMAGE,
    "other": pb.PURPOSE_OTHER,
}
VISAS: dict[str, int] = {
    "visa_exempt": pb.VISA_TYPE_VISA_EXEMPT,
    "tourist": pb.VISA_TYPE_TOURIST,
    "visa_on_arrival": pb.VISA_TYPE_VISA_ON_ARRIVAL,
    "business": pb.VISA_TYPE_BUSINESS,
    "work": pb.VISA_TYPE_WORK,
    "student": pb.VISA_TYPE_STUDENT,
    "pilgrimage": pb.VISA_TYPE_PILGRIMAGE,
}
OBSERVATIONS: dict[str, int] = {
    "unable_to_explain_purpose": pb.OBSERVATION_UNABLE_TO_EXPLAIN_PURPOSE,
    "inconsistent_answers": pb.OBSERVATION_INCONSISTENT_ANSWERS,
    "carries_job_offer": pb.OBSERVATION_CARRIES_JOB_OFFER,
    "accompanied_by_recruiter": pb.OBSERVATION_ACCOMPANIED_BY_RECRUITER,
}
DECISIONS: dict[str, int] = {
    "postponed": pb.DECISION_POSTPONED,
    "referred": pb.DECISION_REFERRED,
}

_NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_CHECKPOINT_RE = re.compile(r"^[A-Z0-9]{2,16}$")
_FLIGHT_RE = re.compile(r"^[A-Z0-9]{2,10}$")
_CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")
_RANGE_KEY_RE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")
_MAX_TRAVELLERS = 1_000_000
_MAX_TRANSITS = 8

T = TypeVar("T")


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names the file and every bad key."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid scenario {source}:\n{lines}")


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int

    def pick(self, rng: random.Random) -> int:
        return rng.randint(self.low, self.high)

    def __str__(self) -> str:
        return f"{self.low}-{self.high}"


@dataclass(frozen=True)
class Choice(Generic[T]):
    """A fixed value or a weighted choice among values."""

    options: tuple[tuple[T, float], ...]

    @staticmethod
    def fixed(value: T) -> Choice[T]:
        return Choice(((value, 1.0),))

    def pick(self, rng: random.Random) -> T:
        if len(self.options) == 1:
            return self.options[0][0]
        values = [v for v, _ in self.options]
        weights = [w for _, w in self.options]
        return rng.choices(values, weights=weights)[0]

    def values(self) -> tuple[T, ...]:
        return tuple(v for v, _ in self.options)


@dataclass(frozen=True)
class TravellerTemplate:
    destination: Choice[str]
    purpose: Choice[int]
    visa: Choice[int]
    age: Choice[IntRange] = field(default_factory=lambda: Choice.fixed(IntRange(18, 65)))
    transit: Choice[tuple[str, ...]] = field(default_factory=lambda: Choice.fixed(()))
    return_ticket: float = 1.0
    passport_age_days: Choice[IntRange] = field(
        default_factory=lambda: Choice.fixed(IntRange(180, 3650))
    )
    disnaker: float = 0.0
    bp2mi: float = 0.0
    tour_operator_license: float = 0.0
    observations: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True)
class PopulationProfile:
    profile: str
    share: float
    traveller: TravellerTemplate
    description: str = ""
    # Why such travellers exist, and what a good officer does with one: shown in debriefs.
    why: str = ""
    officer: str = ""
    group_size: IntRange = IntRange(1, 1)
    escort: bool = False


@dataclass(frozen=True)
class PlantedCase:
    case: str
    kind: str
    count: int
    traveller: TravellerTemplate
    description: str = ""
    why: str = ""
    officer: str = ""
    expects: tuple[str, ...] = ()
    # group and returning_escort
    size: IntRange = IntRange(1, 1)
    # returning_escort
    trips: int = 0
    every_days: int = 7
    # retry
    first: TravellerTemplate | None = None
    gap_days: IntRange = IntRange(30, 180)
    decision: int = pb.DECISION_POSTPONED


@dataclass(frozen=True)
class RateRange:
    """An inclusive range of a rate, 0..1."""

    low: float
    high: float

    def holds(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.low:.0%}-{self.high:.0%}"


@dataclass(frozen=True)
class IntendedRates:
    """The service's error rates the scenario is built to produce, with the shipped rules.

    False-alarm rate: genuine travellers flagged (ELEVATED or HIGH) over all genuine ones.
    Miss rate: at-risk travellers left in band LOW over all at-risk ones.
    """

    false_alarm: RateRange
    miss: RateRange


@dataclass(frozen=True)
class Guidance:
    """What a debrief says about a profile or planted case."""

    name: str
    at_risk: bool
    description: str
    why: str
    officer: str


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    travellers: int
    checkpoint: Choice[str]
    start: dt.date
    end: dt.date
    population: tuple[PopulationProfile, ...]
    cases: tuple[PlantedCase, ...]
    flights: Mapping[str, tuple[str, ...]]
    source: str
    # Digest of the file's content: request ids and passports depend on it, so an
    # edited scenario never collides with the records of its earlier version.
    fingerprint: str
    intended: IntendedRates | None = None
    # The airlines' passenger lists (PAXLST) of every flight are screened before the
    # counter, so a drill shows each traveller's heads-up entry beside the counter.
    heads_up: bool = False

    def case(self, name: str) -> PlantedCase | None:
        return next((c for c in self.cases if c.case == name), None)

    def profile(self, name: str) -> PopulationProfile | None:
        return next((p for p in self.population if p.profile == name), None)

    def guidance(self, name: str, *, at_risk: bool) -> Guidance:
        """The documentation of a planted case (at risk) or a population profile."""
        item = self.case(name) if at_risk else self.profile(name)
        if item is None:
            return Guidance(name, at_risk, "", "", "")
        return Guidance(name, at_risk, item.description, item.why, item.officer)


# --------------------------------------------------------------------------- loading


def bundled_dir() -> Path:
    return Path(str(resources.files("departure_screening.exercise").joinpath("scenarios")))


def bundled_names() -> list[str]:
    return sorted(p.stem for p in bundled_dir().glob("*.yaml"))


def bundled_scenarios() -> list[Scenario]:
    return [load_scenario(name) for name in bundled_names()]


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a bundled scenario by name, or a scenario file by path."""
    path = Path(name_or_path)
    if isinstance(name_or_path, Path) or path.suffix in SCENARIO_SUFFIXES or path.exists():
        if not path.is_file():
            raise ScenarioError(str(path), ["no such file"])
        return parse_scenario(path.read_text(encoding="utf-8"), source=str(path))
    candidate = bundled_dir() / f"{name_or_path}.yaml"
    if not candidate.is_file():
        known = ", ".join(bundled_names())
        raise ScenarioError(
            str(name_or_path),
            [f"no bundled scenario of that name (bundled: {known}); or give a .yaml file"],
        )
    return parse_scenario(candidate.read_text(encoding="utf-8"), source=candidate.name)


def parse_scenario(text: str, *, source: str = "<scenario>") -> Scenario:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(source, [f"not valid YAML: {exc}"]) from exc
    v = _Validator(source)
    scenario = v.scenario(raw)
    if v.problems or scenario is None:
        raise ScenarioError(source, v.problems or ["empty scenario"])
    return scenario


# --------------------------------------------------------------------------- validation


_SCENARIO_KEYS = (
    "schema",
    "name",
    "description",
    "travellers",
    "checkpoint",
    "dates",
    "flights",
    "population",
    "cases",
    "intended",
    "heads_up",
)
_TEMPLATE_KEYS = (
    "age",
    "destination",
    "transit",
    "purpose",
    "visa",
    "return_ticket",
    "passport_age_days",
    "disnaker",
    "bp2mi",
    "tour_operator_license",
    "observations",
)
_GUIDANCE_KEYS = ("why", "officer")
_PROFILE_KEYS = (
    "profile",
    "description",
    *_GUIDANCE_KEYS,
    "share",
    "group_size",
    "escort",
    "traveller",
)
_CASE_COMMON = ("case", "kind", "description", *_GUIDANCE_KEYS, "count", "expects", "traveller")
_INTENDED_KEYS = ("false_alarm_rate", "miss_rate")
_CASE_KEYS: dict[str, tuple[str, ...]] = {
    "individual": _CASE_COMMON,
    "group": (*_CASE_COMMON, "size"),
    "returning_escort": (*_CASE_COMMON, "size", "trips", "every_days"),
    "retry": (*_CASE_COMMON, "first", "gap_days", "decision"),
}


class _Validator:
    """Walks the parsed YAML, collecting every problem with its dotted path."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    # ---- generic helpers

    def mapping(self, value: object, path: str, keys: Sequence[str]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.fail(path, f"expected a mapping, got {_kind(value)}")
            return None
        for key in value:
            if key not in keys:
                hint = difflib.get_close_matches(str(key), keys, n=1)
                suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
                where = f"{path}.{key}" if path else str(key)
                self.fail(where, f"unknown key{suggestion}; known: {', '.join(keys)}")
        return {str(k): v for k, v in value.items()}

    def required(self, data: Mapping[str, Any], key: str, path: str) -> Any:
        if key not in data or data[key] is None:
            self.fail(f"{path}.{key}" if path else key, "required")
            return None
        return data[key]

    def integer(self, value: object, path: str, low: int, high: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"expected an integer, got {_kind(value)}")
            return None
        if not low <= value <= high:
            self.fail(path, f"must be between {low} and {high}, got {value}")
            return None
        return value

    def probability(self, value: object, path: str) -> float | None:
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        if not isinstance(value, int | float):
            self.fail(path, f"expected a probability 0..1 or true/false, got {_kind(value)}")
            return None
        if not 0.0 <= float(value) <= 1.0:
            self.fail(path, f"a probability must be between 0 and 1, got {value}")
            return None
        return float(value)

    def text(self, value: object, path: str, *, max_len: int = 200) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"expected a non-empty string, got {_kind(value)}")
            return None
        if "\n" in value.strip() or len(value) > max_len:
            self.fail(path, f"must be one line of at most {max_len} characters")
            return None
        return value.strip()

    def name(self, value: object, path: str) -> str | None:
        text = self.text(value, path, max_len=40)
        if text is not None and not _NAME_RE.match(text):
            self.fail(path, f"'{text}' must be lower-case letters, digits and hyphens")
            return None
        return text

    def int_range(self, value: object, path: str, low: int, high: int) -> IntRange | None:
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value, value]
        if isinstance(value, str) and (m := _RANGE_KEY_RE.match(value)):
            value = [int(m.group(1)), int(m.group(2))]
        if not isinstance(value, list) or len(value) != 2:
            self.fail(path, f"expected [min, max], got {_kind(value)}")
            return None
        lo = self.integer(value[0], f"{path}[0]", low, high)
        hi = self.integer(value[1], f"{path}[1]", low, high)
        if lo is None or hi is None:
            return None
        if lo > hi:
            self.fail(path, f"min {lo} is greater than max {hi}")
            return None
        return IntRange(lo, hi)

    def choice(
        self, value: object, path: str, parse: Callable[[object, str], T | None]
    ) -> Choice[T] | None:
        """A single value, or a mapping {value: weight} with positive weights."""
        if not isinstance(value, dict):
            parsed = parse(value, path)
            return None if parsed is None else Choice.fixed(parsed)
        if not value:
            self.fail(path, "expected at least one option")
            return None
        options: list[tuple[T, float]] = []
        ok = True
        for key, weight in value.items():
            item = parse(key, f"{path}.{key}")
            if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
                self.fail(f"{path}.{key}", f"weight must be a positive number, got {weight!r}")
                ok = False
            elif item is None:
                ok = False
            else:
                options.append((item, float(weight)))
        return Choice(tuple(options)) if ok else None

    def country(self, value: object, path: str) -> str | None:
        if not isinstance(value, str) or value not in COUNTRY_CODES:
            self.fail(path, f"expected an ISO 3166-1 alpha-2 code in upper case, got {value!r}")
            return None
        return value

    def route(self, value: object, path: str) -> tuple[str, ...] | None:
        if value is None or (isinstance(value, str) and value.strip() in ("", "none")):
            return ()
        if not isinstance(value, str):
            self.fail(path, f"expected a space-separated list of country codes, got {value!r}")
            return None
        codes = value.split()
        if len(codes) > _MAX_TRANSITS:
            self.fail(path, f"at most {_MAX_TRANSITS} transit countries")
            return None
        parsed = [self.country(c, path) for c in codes]
        return None if any(p is None for p in parsed) else tuple(c for c in codes)

    def enum(self, table: Mapping[str, int], what: str) -> Callable[[object, str], int | None]:
        def parse(value: object, path: str) -> int | None:
            if not isinstance(value, str) or value not in table:
                self.fail(path, f"unknown {what} {value!r}; one of: {', '.join(table)}")
                return None
            return table[value]

        return parse

    def date(self, value: object, path: str) -> dt.date | None:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(path, f"expected a date YYYY-MM-DD, got {value!r}")
        return None

    # ---- the schema

    def scenario(self, raw: object) -> Scenario | None:
        if not isinstance(raw, dict):
            self.fail("(top level)", f"expected a mapping of scenario keys, got {_kind(raw)}")
            return None
        data = self.mapping(raw, "", _SCENARIO_KEYS)
        if data is None:
            return None
        schema = self.required(data, "schema", "")
        if schema is not None and schema != SCHEMA_VERSION:
            self.fail("schema", f"unsupported schema {schema!r}; expected {SCHEMA_VERSION}")
        name = self.name(self.required(data, "name", ""), "name")
        description = self.text(self.required(data, "description", ""), "description")
        travellers = self.integer(
            self.required(data, "travellers", ""), "travellers", 1, _MAX_TRAVELLERS
        )
        checkpoint = self.choice(
            self.required(data, "checkpoint", ""), "checkpoint", self._checkpoint
        )
        start, end = self._dates(self.required(data, "dates", ""))
        flights = self._flights(data.get("flights") or {})
        population = self._population(self.required(data, "population", ""))
        cases = self._cases(data.get("cases", []))
        intended = self._intended(data["intended"]) if "intended" in data else None
        heads_up = data.get("heads_up", False)
        if not isinstance(heads_up, bool):
            self.fail("heads_up", f"expected true or false, got {_kind(heads_up)}")
        if (
            name is None
            or description is None
            or travellers is None
            or checkpoint is None
            or start is None
            or end is None
            or flights is None
            or population is None
            or cases is None
            or self.problems
        ):
            return None
        return Scenario(
            name=name,
            description=description,
            travellers=travellers,
            checkpoint=checkpoint,
            start=start,
            end=end,
            population=population,
            cases=cases,
            flights=flights,
            source=self.source,
            fingerprint=hashlib.sha256(
                json.dumps(raw, sort_keys=True, default=str).encode()
            ).hexdigest()[:12],
            intended=intended,
            heads_up=heads_up is True,
        )

    def _intended(self, value: object) -> IntendedRates | None:
        data = self.mapping(value, "intended", _INTENDED_KEYS)
        if data is None:
            return None
        ranges = [
            self._rate_range(self.required(data, key, "intended"), f"intended.{key}")
            for key in _INTENDED_KEYS
        ]
        if ranges[0] is None or ranges[1] is None:
            return None
        return IntendedRates(false_alarm=ranges[0], miss=ranges[1])

    def _rate_range(self, value: object, path: str) -> RateRange | None:
        if value is None:
            return None
        if not isinstance(value, list) or len(value) != 2:
            self.fail(path, f"expected [min, max] as rates 0..1, got {_kind(value)}")
            return None
        low = self.probability(value[0], f"{path}[0]")
        high = self.probability(value[1], f"{path}[1]")
        if low is None or high is None:
            return None
        if low > high:
            self.fail(path, f"min {low} is greater than max {high}")
            return None
        return RateRange(low, high)

    def _guidance(self, data: Mapping[str, Any], path: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for key in _GUIDANCE_KEYS:
            value = data.get(key, "")
            out[key] = (self.text(value, f"{path}.{key}", max_len=600) or "") if value else ""
        return out

    def _checkpoint(self, value: object, path: str) -> str | None:
        if not isinstance(value, str) or not _CHECKPOINT_RE.match(value):
            self.fail(path, f"expected a checkpoint code such as CGK, got {value!r}")
            return None
        return value

    def _dates(self, value: object) -> tuple[dt.date | None, dt.date | None]:
        data = self.mapping(value, "dates", ("start", "end")) if value is not None else None
        if data is None:
            return None, None
        start = self.date(self.required(data, "start", "dates"), "dates.start")
        end = self.date(self.required(data, "end", "dates"), "dates.end")
        if start and end and start > end:
            self.fail("dates", f"start {start} is after end {end}")
            return None, None
        return start, end

    def _flights(self, value: object) -> dict[str, tuple[str, ...]] | None:
        if not isinstance(value, dict):
            self.fail(
                "flights", f"expected a mapping country: [flight numbers], got {_kind(value)}"
            )
            return None
        flights: dict[str, tuple[str, ...]] = {}
        for country, numbers in value.items():
            path = f"flights.{country}"
            if self.country(country, path) is None:
                continue
            if not isinstance(numbers, list) or not numbers:
                self.fail(path, "expected a non-empty list of flight numbers")
                continue
            bad = [n for n in numbers if not isinstance(n, str) or not _FLIGHT_RE.match(n)]
            if bad:
                self.fail(path, f"flight numbers must be 2-10 characters [A-Z0-9]: {bad!r}")
                continue
            flights[country] = tuple(numbers)
        return flights

    def template(self, value: object, path: str) -> TravellerTemplate | None:
        data = self.mapping(value, path, _TEMPLATE_KEYS)
        if data is None:
            return None
        before = len(self.problems)

        def age_range(v: object, p: str) -> IntRange | None:
            return self.int_range(v, p, 0, 120)

        def days_range(v: object, p: str) -> IntRange | None:
            return self.int_range(v, p, 0, 3650)

        destination = self.choice(
            self.required(data, "destination", path), f"{path}.destination", self.country
        )
        purpose = self.choice(
            self.required(data, "purpose", path), f"{path}.purpose", self.enum(PURPOSES, "purpose")
        )
        visa = self.choice(
            self.required(data, "visa", path), f"{path}.visa", self.enum(VISAS, "visa")
        )
        age = self.choice(data.get("age", [18, 65]), f"{path}.age", age_range)
        transit = self.choice(data.get("transit", "none"), f"{path}.transit", self.route)
        passport_age = self.choice(
            data.get("passport_age_days", [180, 3650]), f"{path}.passport_age_days", days_range
        )
        probabilities = {
            key: self.probability(data.get(key, default), f"{path}.{key}")
            for key, default in (
                ("return_ticket", 1.0),
                ("disnaker", 0.0),
                ("bp2mi", 0.0),
                ("tour_operator_license", 0.0),
            )
        }
        observations: list[tuple[int, float]] = []
        raw_obs = data.get("observations", {})
        if not isinstance(raw_obs, dict):
            self.fail(f"{path}.observations", "expected a mapping {observation: probability}")
        else:
            parse = self.enum(OBSERVATIONS, "observation")
            for key, prob in raw_obs.items():
                code = parse(key, f"{path}.observations.{key}")
                p = self.probability(prob, f"{path}.observations.{key}")
                if code is not None and p is not None:
                    observations.append((code, p))
        if (
            len(self.problems) > before
            or destination is None
            or purpose is None
            or visa is None
            or age is None
            or transit is None
            or passport_age is None
        ):
            return None
        return TravellerTemplate(
            destination=destination,
            purpose=purpose,
            visa=visa,
            age=age,
            transit=transit,
            return_ticket=probabilities["return_ticket"] or 0.0,
            passport_age_days=passport_age,
            disnaker=probabilities["disnaker"] or 0.0,
            bp2mi=probabilities["bp2mi"] or 0.0,
            tour_operator_license=probabilities["tour_operator_license"] or 0.0,
            observations=tuple(observations),
        )

    def _population(self, value: object) -> tuple[PopulationProfile, ...] | None:
        if value is None:
            return None
        if not isinstance(value, list) or not value:
            self.fail("population", "expected a non-empty list of profiles")
            return None
        profiles: list[PopulationProfile] = []
        seen: set[str] = set()
        for i, raw in enumerate(value):
            path = f"population[{i}]"
            data = self.mapping(raw, path, _PROFILE_KEYS)
            if data is None:
                continue
            before = len(self.problems)
            profile = self.name(self.required(data, "profile", path), f"{path}.profile")
            if profile is not None and profile in seen:
                self.fail(f"{path}.profile", f"duplicate profile '{profile}'")
            share = self.required(data, "share", path)
            if share is not None and (
                isinstance(share, bool) or not isinstance(share, int | float) or share <= 0
            ):
                self.fail(f"{path}.share", f"must be a positive number, got {share!r}")
            group_size = self.int_range(
                data.get("group_size", [1, 1]), f"{path}.group_size", 1, 500
            )
            escort = data.get("escort", False)
            if not isinstance(escort, bool):
                self.fail(f"{path}.escort", f"expected true or false, got {escort!r}")
            description = data.get("description", "")
            if description:
                description = self.text(description, f"{path}.description") or ""
            guidance = self._guidance(data, path)
            template = self.template(self.required(data, "traveller", path), f"{path}.traveller")
            if len(self.problems) > before or profile is None or template is None:
                continue
            assert group_size is not None and isinstance(share, int | float)
            seen.add(profile)
            profiles.append(
                PopulationProfile(
                    profile=profile,
                    share=float(share),
                    traveller=template,
                    description=str(description),
                    group_size=group_size,
                    escort=bool(escort),
                    why=guidance["why"],
                    officer=guidance["officer"],
                )
            )
        return tuple(profiles)

    def _cases(self, value: object) -> tuple[PlantedCase, ...] | None:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail("cases", f"expected a list of planted cases, got {_kind(value)}")
            return None
        cases: list[PlantedCase] = []
        seen: set[str] = set()
        for i, raw in enumerate(value):
            path = f"cases[{i}]"
            kind = raw.get("kind") if isinstance(raw, dict) else None
            if kind not in _CASE_KEYS:
                self.fail(f"{path}.kind", f"expected one of {', '.join(KINDS)}, got {kind!r}")
                continue
            data = self.mapping(raw, path, _CASE_KEYS[kind])
            if data is None:
                continue
            case = self._case(kind, data, path)
            if case is None:
                continue
            if case.case in seen:
                self.fail(f"{path}.case", f"duplicate case '{case.case}'")
                continue
            seen.add(case.case)
            cases.append(case)
        return tuple(cases)

    def _case(self, kind: str, data: dict[str, Any], path: str) -> PlantedCase | None:
        before = len(self.problems)
        name = self.name(self.required(data, "case", path), f"{path}.case")
        count = self.integer(self.required(data, "count", path), f"{path}.count", 1, 100_000)
        description = data.get("description", "")
        if description:
            description = self.text(description, f"{path}.description") or ""
        expects_raw = data.get("expects", [])
        expects: list[str] = []
        if not isinstance(expects_raw, list):
            self.fail(f"{path}.expects", "expected a list of indicator codes")
        else:
            for j, code in enumerate(expects_raw):
                if not isinstance(code, str) or not _CODE_RE.match(code):
                    self.fail(f"{path}.expects[{j}]", f"not an indicator code: {code!r}")
                else:
                    expects.append(code)
        guidance = self._guidance(data, path)
        template = self.template(self.required(data, "traveller", path), f"{path}.traveller")
        extra: dict[str, Any] = {}
        if kind in ("group", "returning_escort"):
            low = 3 if kind == "group" else 1
            extra["size"] = self.int_range(
                self.required(data, "size", path), f"{path}.size", low, 500
            )
        if kind == "returning_escort":
            # Three earlier trips are what REPEAT_ESCORT needs; fewer plants nothing to find.
            extra["trips"] = self.integer(
                self.required(data, "trips", path), f"{path}.trips", 2, 52
            )
            extra["every_days"] = self.integer(
                data.get("every_days", 7), f"{path}.every_days", 1, 90
            )
        if kind == "retry":
            extra["first"] = self.template(self.required(data, "first", path), f"{path}.first")
            extra["gap_days"] = self.int_range(
                self.required(data, "gap_days", path), f"{path}.gap_days", 1, 3650
            )
            extra["decision"] = self.enum(DECISIONS, "decision")(
                data.get("decision", "postponed"), f"{path}.decision"
            )
        if len(self.problems) > before or name is None or count is None or template is None:
            return None
        return PlantedCase(
            case=name,
            kind=kind,
            count=count,
            traveller=template,
            description=str(description),
            expects=tuple(expects),
            why=guidance["why"],
            officer=guidance["officer"],
            **extra,
        )


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )
