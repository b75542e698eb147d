"""Load and validate a ruleset directory before anything runs.

A ruleset is ``ruleset.yaml`` (metadata, bands, lists, context windows) and
``indicators.yaml`` (indicators whose ``when`` is a durable-rules JSON condition).
The format is documented in ``rules/README.md``. Every problem found is reported
at once, each with where it is, so an analyst fixes a file in one pass.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from departure_screening import domain
from departure_screening.countries import COUNTRY_CODES
from departure_screening.screening.fact_schema import (
    EVIDENCE_ONLY_FIELDS,
    FACT_FIELDS,
    IDENTITY_FIELDS,
)

FORMAT = "depscreen-ruleset/v1"
RULESET_FILE = "ruleset.yaml"
INDICATORS_FILE = "indicators.yaml"

COMPARISONS = frozenset({"$lt", "$lte", "$gt", "$gte", "$neq"})
EXISTENCE = frozenset({"$ex", "$nex"})
ARRAY_QUANTIFIERS = frozenset({"$iany", "$iall"})
CONNECTIVES = frozenset({"$and", "$or"})
# Far beyond any real ruleset (the shipped one: depth 9, about 600 values), and small
# enough that walking a file of that shape stays quick.
MAX_DEPTH = 64
MAX_NODES = 100_000


class RulesetError(Exception):
    """A ruleset that must not run; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid ruleset:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True, slots=True)
class Band:
    band: str
    min_score: int
    action: str


@dataclass(frozen=True, slots=True)
class Indicator:
    code: str
    weight: int  # fixed weight; for weight_from, the largest the fact can give
    weight_from: str | None
    title: str
    title_id: str
    description: str
    legal_basis: tuple[str, ...]
    remedy: str
    evidence: tuple[str, ...]
    when: Mapping[str, Any]
    # The screening inputs it needs: without one of them it is not evaluated.
    needs: frozenset[str] = frozenset()

    @property
    def mitigating(self) -> bool:
        return self.weight < 0


@dataclass(frozen=True, slots=True)
class Lists:
    watchlist: Mapping[str, int]
    tourist_entry_visas: frozenset[str]
    placement_countries: frozenset[str]
    work_intent_purposes: frozenset[str]
    work_intent_visa_types: frozenset[str]
    work_intent_observations: frozenset[str]


@dataclass(frozen=True, slots=True)
class ContextWindows:
    escort_window_days: int
    postponement_window_days: int
    group_alert_members: int


@dataclass(frozen=True)
class Ruleset:
    name: str
    declared_version: str
    content_hash: str
    description: str
    bands: tuple[Band, ...]
    lists: Lists
    context: ContextWindows
    indicators: tuple[Indicator, ...]

    @property
    def version(self) -> str:
        """Declared version plus a content hash: two different files never share a version."""
        return f"{self.name}@{self.declared_version}+{self.content_hash[:12]}"

    def indicator(self, code: str) -> Indicator:
        return self._by_code[code]

    @cached_property
    def _by_code(self) -> dict[str, Indicator]:
        return {i.code: i for i in self.indicators}

    def band_for(self, score: int) -> Band:
        chosen = self.bands[0]
        for band in self.bands:
            if score >= band.min_score:
                chosen = band
        return chosen


def default_rules_dir() -> Path:
    """The shipped ruleset, package data wherever the package is installed.

    In a checkout it is the top-level ``rules/`` (the package's ``shipped/rules``
    links to it); a built wheel carries a copy of it.
    """
    return Path(str(resources.files("departure_screening").joinpath("shipped", "rules")))


def content_hash(directory: Path) -> str:
    digest = hashlib.sha256()
    for name in (RULESET_FILE, INDICATORS_FILE):
        data = (directory / name).read_bytes()
        digest.update(name.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


def load_ruleset(directory: Path | str) -> Ruleset:
    """Read, validate and return the ruleset in ``directory``; raise RulesetError."""
    directory = Path(directory)
    meta = _read_yaml(directory / RULESET_FILE)
    body = _read_yaml(directory / INDICATORS_FILE)
    problems: list[str] = []
    ruleset = _build(meta, body, content_hash(directory), problems)
    if problems or ruleset is None:
        raise RulesetError(problems)
    return ruleset


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesetError([f"{path.name}: cannot read: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise RulesetError(
            [f"{path.name}: not UTF-8 text: {exc.reason} at byte {exc.start}"]
        ) from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RulesetError([f"{path.name}: not valid YAML: {exc}"]) from exc
    except ValueError as exc:  # a date-like scalar that is no date, e.g. 2026-02-30
        raise RulesetError([f"{path.name}: not valid YAML: {exc}"]) from exc
    except RecursionError:  # the parser recurses once per level of nesting
        raise RulesetError([f"{path.name}: nested too deeply"]) from None
    problem = _shape_problem(document)
    if problem:
        raise RulesetError([f"{path.name}: {problem}"])
    return document


def _shape_problem(document: Any) -> str | None:
    """Refuse what the checks below could not walk in bounded time and stack.

    YAML aliases can make a mapping contain itself, or a few lines stand for
    millions of nodes (each alias of an alias doubling them). Counting the nodes as
    they would be walked, and their depth, finds both without recursing.
    """
    stack = [(document, 0)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            return f"more than {MAX_NODES} values once aliases are expanded"
        if depth > MAX_DEPTH:
            return f"nested more than {MAX_DEPTH} levels deep (or an alias refers to itself)"
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return None


def _expect_keys(
    where: str, obj: Any, required: set[str], optional: set[str], problems: list[str]
) -> bool:
    if not isinstance(obj, dict):
        problems.append(f"{where}: expected a mapping")
        return False
    for key in sorted(required - obj.keys()):
        problems.append(f"{where}: missing '{key}'")
    for key in sorted(obj.keys() - required - optional, key=str):  # keys need not be text
        problems.append(f"{where}: unknown key '{key}'")
    return required <= obj.keys()


def _build(meta: Any, body: Any, digest: str, problems: list[str]) -> Ruleset | None:
    if not _expect_keys(
        RULESET_FILE,
        meta,
        {"format", "name", "version", "bands", "lists", "context"},
        {"description"},
        problems,
    ):
        return None
    if meta["format"] != FORMAT:
        problems.append(f"{RULESET_FILE}: format must be '{FORMAT}', not {meta['format']!r}")
    for key in ("name", "version"):
        if not isinstance(meta[key], str) or not meta[key]:
            problems.append(f"{RULESET_FILE}: '{key}' must be a non-empty string")
    bands = _bands(meta["bands"], problems)
    lists = _lists(meta["lists"], problems)
    context = _context(meta["context"], problems)
    if not _expect_keys(INDICATORS_FILE, body, {"indicators"}, set(), problems):
        return None
    indicators = _indicators(body["indicators"], lists, problems)
    if lists is None or context is None:
        return None
    _check_group_threshold(indicators, context, problems)
    return Ruleset(
        name=str(meta["name"]),
        declared_version=str(meta["version"]),
        content_hash=digest,
        description=str(meta.get("description", "")),
        bands=bands,
        lists=lists,
        context=context,
        indicators=indicators,
    )


def _bands(raw: Any, problems: list[str]) -> tuple[Band, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append(f"{RULESET_FILE}: bands: expected a non-empty list")
        return ()
    bands: list[Band] = []
    for n, item in enumerate(raw):
        where = f"{RULESET_FILE}: bands[{n}]"
        if not _expect_keys(where, item, {"band", "min_score", "action"}, set(), problems):
            continue
        if item["band"] not in domain.BANDS:
            problems.append(f"{where}: band {item['band']!r} is not one of {list(domain.BANDS)}")
        if item["action"] not in domain.ACTIONS:
            problems.append(
                f"{where}: action {item['action']!r} is not one of {list(domain.ACTIONS)}"
            )
        if not _is_int(item["min_score"]) or not 0 <= item["min_score"] <= 100:
            problems.append(f"{where}: min_score must be a whole number from 0 to 100")
            continue
        bands.append(Band(item["band"], item["min_score"], item["action"]))
    if bands and bands[0].min_score != 0:
        problems.append(f"{RULESET_FILE}: bands: the first band must start at min_score 0")
    scores = [b.min_score for b in bands]
    if scores != sorted(set(scores)) or len(scores) != len(set(scores)):
        problems.append(f"{RULESET_FILE}: bands: min_score must strictly increase, got {scores}")
    names = [b.band for b in bands]
    if len(names) != len(set(names)):
        problems.append(f"{RULESET_FILE}: bands: a band is listed twice: {names}")
    return tuple(bands)


def _country_list(where: str, raw: Any, problems: list[str]) -> frozenset[str]:
    if not isinstance(raw, list):
        problems.append(f"{where}: expected a list of ISO alpha-2 country codes")
        return frozenset()
    # An item may be any YAML value, a list or mapping too: only text is looked up.
    texts = [code for code in raw if isinstance(code, str)]
    for code in raw:
        if not isinstance(code, str) or code not in COUNTRY_CODES:
            problems.append(f"{where}: {code!r} is not an ISO 3166-1 alpha-2 code")
    return frozenset(texts)


def _enum_list(
    where: str, raw: Any, allowed: tuple[str, ...], problems: list[str]
) -> frozenset[str]:
    if not isinstance(raw, list):
        problems.append(f"{where}: expected a list")
        return frozenset()
    for value in raw:
        if value not in allowed:
            problems.append(f"{where}: {value!r} is not one of {list(allowed)}")
    return frozenset(value for value in raw if isinstance(value, str))


def _lists(raw: Any, problems: list[str]) -> Lists | None:
    where = f"{RULESET_FILE}: lists"
    keys = {"watchlist", "tourist_entry_visas", "placement_countries", "work_intent"}
    if not _expect_keys(where, raw, keys, set(), problems):
        return None
    watchlist = raw["watchlist"]
    if not isinstance(watchlist, dict):
        problems.append(f"{where}.watchlist: expected a mapping of country code to weight")
        watchlist = {}
    for code, weight in watchlist.items():
        if code not in COUNTRY_CODES:
            problems.append(f"{where}.watchlist: {code!r} is not an ISO 3166-1 alpha-2 code")
        if not _is_int(weight) or not 0 <= weight <= 100:
            problems.append(f"{where}.watchlist.{code}: weight must be a whole number 0-100")
    work = raw["work_intent"]
    work_keys = {"purposes", "visa_types", "observations"}
    if not _expect_keys(f"{where}.work_intent", work, work_keys, set(), problems):
        work = {k: [] for k in work_keys}
    return Lists(
        watchlist=dict(watchlist),
        tourist_entry_visas=_enum_list(
            f"{where}.tourist_entry_visas", raw["tourist_entry_visas"], domain.VISA_TYPES, problems
        ),
        placement_countries=_country_list(
            f"{where}.placement_countries", raw["placement_countries"], problems
        ),
        work_intent_purposes=_enum_list(
            f"{where}.work_intent.purposes", work["purposes"], domain.PURPOSES, problems
        ),
        work_intent_visa_types=_enum_list(
            f"{where}.work_intent.visa_types", work["visa_types"], domain.VISA_TYPES, problems
        ),
        work_intent_observations=_enum_list(
            f"{where}.work_intent.observations", work["observations"], domain.OBSERVATIONS, problems
        ),
    )


def _context(raw: Any, problems: list[str]) -> ContextWindows | None:
    where = f"{RULESET_FILE}: context"
    keys = {"escort_window_days", "postponement_window_days", "group_alert_members"}
    if not _expect_keys(where, raw, keys, set(), problems):
        return None
    for key in sorted(keys):
        if not _is_int(raw[key]) or raw[key] < 1:
            problems.append(f"{where}.{key}: must be a whole number of at least 1")
            return None
    return ContextWindows(**{k: raw[k] for k in keys})


def _group_thresholds(condition: Any) -> Iterator[Any]:
    """Every N of a ``$gte: {group_members: N}`` anywhere in a condition."""
    if isinstance(condition, dict):
        for key, value in condition.items():
            if key == "$gte" and isinstance(value, dict) and "group_members" in value:
                yield value["group_members"]
            else:
                yield from _group_thresholds(value)
    elif isinstance(condition, list):
        for item in condition:
            yield from _group_thresholds(item)


def _check_group_threshold(
    indicators: tuple[Indicator, ...], context: ContextWindows, problems: list[str]
) -> None:
    """The group size is written twice (the alert in ruleset.yaml, the indicator's
    condition); a ruleset where they differ would alert on one group and score another."""
    for indicator in indicators:
        for n in _group_thresholds(indicator.when):
            if n != context.group_alert_members:
                problems.append(
                    f"{INDICATORS_FILE}: {indicator.code}: group_members >= {n} differs from"
                    f" {RULESET_FILE}: context.group_alert_members ({context.group_alert_members});"
                    " a group is one size for the alert and the indicator"
                )


def _indicators(raw: Any, lists: Lists | None, problems: list[str]) -> tuple[Indicator, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append(f"{INDICATORS_FILE}: indicators: expected a non-empty list")
        return ()
    required = {"code", "title", "title_id", "description", "legal_basis", "remedy", "when"}
    optional = {"weight", "weight_from", "evidence", "needs"}
    result: list[Indicator] = []
    seen: set[str] = set()
    for n, item in enumerate(raw):
        code = item.get("code") if isinstance(item, dict) else None
        where = f"{INDICATORS_FILE}: {code or f'indicators[{n}]'}"
        if not _expect_keys(where, item, required, optional, problems):
            continue
        if not isinstance(code, str) or not code.isupper() or not code.replace("_", "").isalnum():
            problems.append(f"{where}: code must be UPPER_SNAKE_CASE")
            continue
        if code in seen:
            problems.append(f"{where}: code is used by more than one indicator")
        seen.add(code)
        weight = _weight(where, item, lists, problems)
        for key in ("title", "title_id", "description"):
            if not isinstance(item[key], str) or not item[key].strip():
                problems.append(f"{where}: '{key}' must be non-empty text")
        legal = item["legal_basis"]
        if not isinstance(legal, list) or not all(isinstance(x, str) and x for x in legal):
            problems.append(f"{where}: legal_basis must be a list of citations")
            legal = []
        if weight is not None and weight > 0 and not legal:
            problems.append(f"{where}: an indicator that raises the score needs a legal_basis")
        if not isinstance(item["remedy"], str):
            problems.append(f"{where}: remedy must be text")
        evidence = item.get("evidence", [])
        for name in evidence if isinstance(evidence, list) else ["<not a list>"]:
            if not isinstance(name, str) or (
                name not in FACT_FIELDS and name not in EVIDENCE_ONLY_FIELDS
            ):
                problems.append(f"{where}: evidence field {name!r} is not a known fact")
        condition_faults = list(condition_problems(item["when"]))
        for problem in condition_faults:
            problems.append(f"{where}: when: {problem}")
        needs = _needs(where, item, not condition_faults, problems)
        if weight is None:
            continue
        result.append(
            Indicator(
                code=code,
                weight=weight,
                weight_from=item.get("weight_from"),
                title=item["title"],
                title_id=item["title_id"],
                description=" ".join(str(item["description"]).split()),
                legal_basis=tuple(legal),
                remedy=str(item["remedy"]),
                evidence=tuple(evidence) if isinstance(evidence, list) else (),
                when=item["when"],
                needs=needs,
            )
        )
    return tuple(result)


def _needs(where: str, item: dict[str, Any], readable: bool, problems: list[str]) -> frozenset[str]:
    """The inputs an indicator needs: as written, and never fewer than its condition reads.

    Without ``needs`` they are the inputs of the facts its condition and weight read.
    """
    read = set(condition_fields(item["when"])) if readable else set()
    if isinstance(item.get("weight_from"), str):
        read.add(item["weight_from"])
    derived = {i for name in read if name in FACT_FIELDS for i in FACT_FIELDS[name].inputs}
    if "needs" not in item:
        return frozenset(derived)
    raw = item["needs"]
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        problems.append(f"{where}: needs must be a list of inputs ({', '.join(domain.INPUTS)})")
        return frozenset(derived)
    for name in raw:
        if name not in domain.INPUTS:
            problems.append(
                f"{where}: needs: {name!r} is not an input ({', '.join(domain.INPUTS)})"
            )
    for name in sorted(derived - set(raw)):
        facts = sorted(f for f in read if f in FACT_FIELDS and name in FACT_FIELDS[f].inputs)
        problems.append(
            f"{where}: needs: {name!r} is missing; the indicator reads {', '.join(facts)}"
        )
    return frozenset(raw) | frozenset(derived)


def condition_fields(condition: Any) -> Iterator[str]:
    """Every fact name a (valid) condition reads."""
    if isinstance(condition, dict):
        for key, value in condition.items():
            if key in CONNECTIVES and isinstance(value, list):
                for sub in value:
                    yield from condition_fields(sub)
            elif key in COMPARISONS or key in EXISTENCE or key in ARRAY_QUANTIFIERS:
                if isinstance(value, dict):
                    yield from (str(name) for name in value)
            elif isinstance(key, str) and not key.startswith("$"):
                yield key


def _weight(
    where: str, item: dict[str, Any], lists: Lists | None, problems: list[str]
) -> int | None:
    has_weight, has_from = "weight" in item, "weight_from" in item
    if has_weight == has_from:
        problems.append(f"{where}: give exactly one of 'weight' or 'weight_from'")
        return None
    if has_weight:
        if not _is_int(item["weight"]) or not -100 <= item["weight"] <= 100:
            problems.append(f"{where}: weight must be a whole number from -100 to 100")
            return None
        return int(item["weight"])
    if item["weight_from"] != "watchlist_weight":
        problems.append(f"{where}: weight_from supports only 'watchlist_weight'")
        return None
    # A weight that is no whole number is a problem reported already; it gives none.
    weights = [w for w in lists.watchlist.values() if _is_int(w)] if lists else []
    return max(weights, default=0)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def condition_problems(condition: Any, path: str = "") -> Iterator[str]:
    """Check a durable-rules JSON condition over the fact schema; yield what is wrong."""
    here = path or "(top)"
    if not isinstance(condition, dict) or len(condition) == 0:
        yield f"{here}: a condition is a mapping with at least one entry"
        return
    for key, value in condition.items():
        at = f"{path}.{key}" if path else key
        if key in CONNECTIVES:
            if not isinstance(value, list) or not value:
                yield f"{at}: expects a non-empty list of conditions"
                continue
            for n, sub in enumerate(value):
                yield from condition_problems(sub, f"{at}[{n}]")
        elif key in COMPARISONS or key in EXISTENCE:
            if not isinstance(value, dict) or len(value) != 1:
                yield f"{at}: expects exactly one field, e.g. {{{key}: {{age_on_departure: 18}}}}"
                continue
            ((name, operand),) = value.items()
            yield from _field_problems(at, name, operand, key)
        elif key in ARRAY_QUANTIFIERS:
            if not isinstance(value, dict) or len(value) != 1:
                yield f"{at}: expects exactly one list field"
                continue
            ((name, inner),) = value.items()
            yield from _field_problems(at, name, None, key)
            yield from _item_problems(f"{at}.{name}", name, inner)
        elif isinstance(key, str) and key.startswith("$"):
            yield f"{at}: operator {key!r} is not supported here"
        else:
            yield from _field_problems(path or "(top)", key, value, "=")


def _field_problems(at: str, name: Any, operand: Any, op: str) -> Iterator[str]:
    if not isinstance(name, str):
        yield f"{at}: field names are text"
        return
    if name in IDENTITY_FIELDS:
        yield (
            f"{at}: refers to '{name}', which describes who a person is rather than the trip; "
            "the policy forbids rules over it"
        )
        return
    spec = FACT_FIELDS.get(name)
    if spec is None:
        yield f"{at}: '{name}' is not a field of the allowed fact schema"
        return
    if op in EXISTENCE:
        return
    if op in ARRAY_QUANTIFIERS:
        if not spec.kind.endswith("_list"):
            yield f"{at}: '{name}' is not a list"
        return
    if spec.kind.endswith("_list"):
        yield f"{at}: '{name}' is a list: use $iany or $iall with $i"
        return
    yield from _operand_problems(at, name, spec.kind, spec.values, operand, op)


def _operand_problems(
    at: str, name: str, kind: str, values: tuple[str, ...], operand: Any, op: str
) -> Iterator[str]:
    if kind == "bool":
        if op not in ("=", "$neq") or not isinstance(operand, bool):
            yield f"{at}: '{name}' is true/false and is compared with = or $neq only"
    elif kind == "int":
        if not _is_int(operand):
            yield f"{at}: '{name}' is a whole number; {operand!r} is not"
    elif not isinstance(operand, str):
        yield f"{at}: '{name}' is text; {operand!r} is not"
    elif kind == "enum" and operand not in values:
        yield f"{at}: {operand!r} is not a value of '{name}' ({', '.join(values)})"


def _item_problems(at: str, name: str, inner: Any) -> Iterator[str]:
    """The condition on each item of a list: ``{$i: VALUE}``, or $and/$or of those."""
    spec = FACT_FIELDS.get(name)
    if not isinstance(inner, dict) or len(inner) != 1:
        yield f"{at}: expects {{$i: VALUE}} or $and/$or of them"
        return
    ((key, value),) = inner.items()
    if key in CONNECTIVES and isinstance(value, list) and value:
        for n, sub in enumerate(value):
            yield from _item_problems(f"{at}.{key}[{n}]", name, sub)
    elif key == "$i":
        if spec and spec.kind == "enum_list" and value not in spec.values:
            yield f"{at}: {value!r} is not a value of '{name}' ({', '.join(spec.values)})"
        elif not isinstance(value, str):
            yield f"{at}: list items are text"
    else:
        yield f"{at}: expects {{$i: VALUE}} or $and/$or of them, not {key!r}"
