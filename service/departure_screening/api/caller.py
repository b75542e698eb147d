"""Who makes the current call, as access control established it (empty in plain mode).

Access control sits above this floor: it sets the principal on the thread that runs the
call, and the servicer reads it when it builds what is stored.
"""

from __future__ import annotations

from contextvars import ContextVar

from departure_screening.domain import NOBODY, Principal

current_principal: ContextVar[Principal] = ContextVar("current_principal", default=NOBODY)
