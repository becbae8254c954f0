"""A ticket's life, in one table:

    open -> pending     (staff answered; the customer's turn)
    open | pending -> resolved -> closed
    pending | resolved -> open    (the customer replied, or staff reopened it)
    any but closed -> closed      (closed is final: a new question is a new ticket)
"""

from __future__ import annotations

from ..errors import Conflict

OPEN = "open"
PENDING = "pending"
RESOLVED = "resolved"
CLOSED = "closed"

MOVES = {
    OPEN: frozenset({PENDING, RESOLVED, CLOSED}),
    PENDING: frozenset({OPEN, RESOLVED, CLOSED}),
    RESOLVED: frozenset({OPEN, CLOSED}),
    CLOSED: frozenset(),
}
STATUSES = tuple(MOVES)
# Where a customer may move their own ticket: settle it, or reopen a resolved one. Setting it
# pending (waiting on the customer) is staff's.
CUSTOMER_TARGETS = frozenset({OPEN, RESOLVED, CLOSED})


def can_move(from_status: str, to_status: str) -> bool:
    return to_status in MOVES.get(from_status, frozenset())


class IllegalMove(Conflict):
    def __init__(self, ticket_id: int, current: str, wanted: str):
        super().__init__(f"Ticket {ticket_id} is {current}; it cannot become {wanted}.",
                         current_status=current, wanted_status=wanted)
