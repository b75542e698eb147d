"""The facts a rule may look at: what the trip is, never who the person is.

A rule condition may only name fields listed in ``FACT_FIELDS``. Fields that
describe a person (sex, religion, ethnicity, region of origin, name...) are not
in the contract and are refused by name, so that the loader can say why.
"""

from __future__ import annotations

from dataclasses import dataclass

from departure_screening import domain


@dataclass(frozen=True, slots=True)
class FactField:
    kind: str  # "bool", "int", "str", "enum", "str_list", "enum_list"
    description: str
    values: tuple[str, ...] = ()  # allowed values for enums
    # The screening inputs (``domain.INPUTS``) it is derived from; without one of them
    # the fact means nothing, and an indicator that reads it is not evaluated.
    inputs: tuple[str, ...] = ()


_B, _I, _S = "bool", "int", "str"
_DECL, _OBS = domain.INPUT_DECLARATION, domain.INPUT_OBSERVATIONS
_RETURN, _ESCORT = domain.INPUT_RETURN_TICKET, domain.INPUT_ESCORT
_TOUR, _ISSUED = domain.INPUT_TOUR_OPERATOR_LICENSE, domain.INPUT_PASSPORT_ISSUE_DATE

FACT_FIELDS: dict[str, FactField] = {
    "checkpoint": FactField(_S, "checkpoint code, e.g. CGK"),
    "flight_number": FactField(_S, "flight, vessel or land-crossing id"),
    "purpose": FactField("enum", "declared purpose", domain.PURPOSES, (_DECL,)),
    "visa_type": FactField("enum", "kind of entry held", domain.VISA_TYPES, (_DECL,)),
    "destination_country": FactField(_S, "declared final destination, ISO alpha-2"),
    "transit_countries": FactField("str_list", "transit countries, ISO alpha-2"),
    "observations": FactField(
        "enum_list", "officer's interview observations", domain.OBSERVATIONS, (_OBS,)
    ),
    "has_return_ticket": FactField(_B, "a return ticket is held", inputs=(_RETURN,)),
    "has_booking_reference": FactField(_B, "a booking reference was given"),
    "has_escort": FactField(_B, "an escort (group leader) was identified", inputs=(_ESCORT,)),
    "has_tour_operator_license": FactField(
        _B, "a tour-operator licence number was given", inputs=(_TOUR,)
    ),
    "has_disnaker_recommendation": FactField(
        _B, "a Disnaker recommendation number was given", inputs=(_DECL,)
    ),
    "has_bp2mi_registration": FactField(
        _B, "a BP2MI registration number was given", inputs=(_DECL,)
    ),
    "age_on_departure": FactField(_I, "age in completed years on the departure date"),
    "days_since_passport_issue": FactField(
        _I, "departure date minus passport issue date, in days", inputs=(_ISSUED,)
    ),
    "work_intent": FactField(
        _B, "purpose, visa or observation on the work-intent list", inputs=(_DECL, _OBS)
    ),
    "tourist_type_entry": FactField(_B, "visa type on the tourist-entry list", inputs=(_DECL,)),
    "destination_on_watchlist": FactField(_B, "declared destination on the watch-list"),
    "watchlist_weight": FactField(_I, "highest watch-list weight of destination and transits"),
    "destination_open_for_placement": FactField(_B, "destination open for worker placement"),
    "group_members": FactField(
        _I, "distinct travellers screened in this group, this one included", inputs=(_ESCORT,)
    ),
    "escort_watchlist_trips": FactField(
        _I, "escort's earlier watch-list trips in the window", inputs=(_ESCORT,)
    ),
    "prior_postponements": FactField(_I, "earlier trips in the window with a postponement"),
}

# Shown as evidence only; masked, and never usable in a condition.
EVIDENCE_ONLY_FIELDS = frozenset({"escort_passport_masked"})

# Named so the loader can explain the refusal; any other unknown field is refused too.
IDENTITY_FIELDS = frozenset(
    {
        "sex",
        "gender",
        "religion",
        "ethnicity",
        "ethnic_group",
        "race",
        "tribe",
        "region_of_origin",
        "province",
        "province_of_origin",
        "home_region",
        "place_of_birth",
        "birth_place",
        "name",
        "full_name",
        "given_name",
        "first_name",
        "surname",
        "last_name",
        "family_name",
        "nationality",
        "marital_status",
    }
)
