"""What a screening learns from earlier screenings: its group and its history.

The store fills a ``HistoryContext`` for each screening; the facts derived from it
are what the group and history indicators look at.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HistoryContext:
    # Distinct travellers of the group screened so far, this one included; 0 without escort.
    group_members: int = 0
    # Assessment ids of the other members, first screening of each, in screening order.
    earlier_group_assessments: tuple[str, ...] = ()
    # False when this traveller was already a member (screened again under a new request id).
    new_member: bool = True
    # Escort's distinct earlier (flight, date) trips to watch-list destinations in the window.
    escort_watchlist_trips: int = 0
    # Earlier trips of this traveller in the window with a postponing decision.
    prior_postponements: int = 0
