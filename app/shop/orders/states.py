"""The order's life: every state and the moves allowed out of it, in one table.

    pending_payment -> paid -> shipped -> delivered -> completed
    pending_payment -> cancelled             (the stock goes back)
    paid -> cancelled                        (refunded, the stock goes back)
    paid | shipped | delivered -> refunded   (the stock goes back only if it never left: from paid)
"""

from __future__ import annotations

PENDING_PAYMENT = "pending_payment"
PAID = "paid"
SHIPPED = "shipped"
DELIVERED = "delivered"
COMPLETED = "completed"
CANCELLED = "cancelled"
REFUNDED = "refunded"

ALLOWED = {
    PENDING_PAYMENT: frozenset({PAID, CANCELLED}),
    PAID: frozenset({SHIPPED, CANCELLED, REFUNDED}),
    SHIPPED: frozenset({DELIVERED, REFUNDED}),
    DELIVERED: frozenset({COMPLETED, REFUNDED}),
    COMPLETED: frozenset(),
    CANCELLED: frozenset(),
    REFUNDED: frozenset(),
}
STATES = tuple(ALLOWED)

# States in which the order's goods are still on our shelf, set aside for it.
HOLDS_STOCK = frozenset({PENDING_PAYMENT, PAID})
# States in which the customer has paid and not been refunded.
PAID_FOR = frozenset({PAID, SHIPPED, DELIVERED, COMPLETED})
# Where staff may move an order by hand; only a payment makes it paid.
STAFF_TARGETS = (SHIPPED, DELIVERED, COMPLETED, CANCELLED, REFUNDED)


def can_move(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED.get(from_status, frozenset())


def returns_stock(from_status: str, to_status: str) -> bool:
    return from_status in HOLDS_STOCK and to_status in (CANCELLED, REFUNDED)
