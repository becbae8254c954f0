"""The order events logistics acts on: a paid order is booked with the carrier, a cancelled one
calls its booking off. Each takes an event of the backbone's shape (`Event(id, topic, payload,
occurred_at)`); the backbone skips events already handled, and both are idempotent anyway: the
shipment is keyed by its order, and the carrier books a reference once."""

from __future__ import annotations

from typing import Any, Protocol

from ..errors import Problem
from ..extensions import carrier
from . import booking


class Event(Protocol):
    id: Any
    topic: str
    payload: dict[str, Any]


def _carrier():
    shipping = carrier()
    if shipping is None:
        raise Problem(503, "No carrier", "The shop has no carrier configured (CARRIER).", type_="no-carrier")
    return shipping


def book_shipment_for(event: Event) -> None:
    booking.book_shipment(int(event.payload["order_id"]), _carrier())


def cancel_shipment_for(event: Event) -> None:
    booking.cancel_shipment(int(event.payload["order_id"]), _carrier())


try:
    from ..events import consumer
except ImportError:  # before the backbone's event framework is merged
    pass
else:
    consumer("logistics.book_shipment", "order.paid")(book_shipment_for)
    consumer("logistics.cancel_shipment", "order.cancelled")(cancel_shipment_for)
