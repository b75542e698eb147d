"""Derive the facts the rules look at, once, in one place, before the engine runs.

The facts hold no personal numbers: only what the trip is, derived values and the
history counts. Evidence-only fields (masked) are kept apart from the facts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from departure_screening.domain import (
    INPUT_ESCORT,
    INPUT_OBSERVATIONS,
    INPUT_RETURN_TICKET,
    INPUT_TOUR_OPERATOR_LICENSE,
    Screening,
)
from departure_screening.privacy.masking import mask_number
from departure_screening.screening.context import HistoryContext
from departure_screening.screening.ruleset import Lists


def age_on(birth: dt.date, day: dt.date) -> int:
    """Completed years on ``day``; a 29 February birthday counts from 1 March in common years."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def watchlist_weight(lists: Lists, destination: str, transits: tuple[str, ...]) -> int:
    return max((lists.watchlist.get(c, 0) for c in (destination, *transits)), default=0)


def derive_facts(screening: Screening, lists: Lists, history: HistoryContext) -> dict[str, Any]:
    return with_lists(screening_facts(screening, history), lists)


def screening_facts(screening: Screening, history: HistoryContext) -> dict[str, Any]:
    """The facts that do not depend on the ruleset's lists: what a replay starts from.

    A fact whose input the screening lacks (a preliminary one has no declaration) is
    null; the indicators that read it are not evaluated.
    """
    trip, decl, traveller = screening.trip, screening.declaration, screening.traveller
    missing = screening.missing_inputs()

    def given(value: Any, *inputs: str) -> Any:
        return None if missing.intersection(inputs) else value

    issued = traveller.passport_issue_date
    return {
        "checkpoint": screening.checkpoint,
        "flight_number": trip.flight_number,
        "departure_date": trip.departure_date.isoformat(),
        "purpose": decl.purpose if decl else None,
        "visa_type": decl.visa_type if decl else None,
        "destination_country": trip.destination_country,
        "transit_countries": list(trip.transit_countries),
        "observations": given(sorted(set(screening.observations)), INPUT_OBSERVATIONS),
        "has_return_ticket": given(trip.has_return_ticket, INPUT_RETURN_TICKET),
        "has_booking_reference": bool(trip.booking_reference),
        "has_escort": given(bool(trip.escort_passport_number), INPUT_ESCORT),
        "has_tour_operator_license": given(
            bool(trip.tour_operator_license), INPUT_TOUR_OPERATOR_LICENSE
        ),
        "has_disnaker_recommendation": bool(decl.disnaker_recommendation_number) if decl else None,
        "has_bp2mi_registration": bool(decl.bp2mi_registration_number) if decl else None,
        "age_on_departure": age_on(traveller.birth_date, trip.departure_date),
        "days_since_passport_issue": (
            (trip.departure_date - issued).days if issued is not None else None
        ),
        "group_members": history.group_members,
        "escort_watchlist_trips": history.escort_watchlist_trips,
        "prior_postponements": history.prior_postponements,
    }


def with_lists(facts: Mapping[str, Any], lists: Lists) -> dict[str, Any]:
    """``facts`` completed with what a ruleset's lists make of them.

    A replay of stored facts on another ruleset recomputes these from its lists, so
    a changed watch-list weighs as it would have at the time.
    """
    destination, transits = facts["destination_country"], tuple(facts["transit_countries"])
    observations = facts["observations"] or ()
    return {
        **facts,
        "work_intent": (
            facts["purpose"] in lists.work_intent_purposes
            or facts["visa_type"] in lists.work_intent_visa_types
            or any(o in lists.work_intent_observations for o in observations)
        ),
        "tourist_type_entry": facts["visa_type"] in lists.tourist_entry_visas,
        "destination_on_watchlist": destination in lists.watchlist,
        "watchlist_weight": watchlist_weight(lists, destination, transits),
        "destination_open_for_placement": destination in lists.placement_countries,
    }


def evidence_extras(screening: Screening) -> dict[str, str]:
    """Values shown as evidence only, masked."""
    return {"escort_passport_masked": mask_number(screening.trip.escort_passport_number)}
