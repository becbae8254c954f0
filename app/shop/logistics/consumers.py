"""The order events logistics acts on: a paid order is booked with the carrier, a cancelled one
calls its booking off. Each takes an event of the backbone's shape (`Event(id, topic, payload,
occurred_at)`); the backbone skips events already handled, and both are idempotent anyway: the
shipment is keyed by its order, and the carrier books a reference once."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from ..extensions import carrier
from . import booking

log = logging.getLogger(__name__)


class Event(Protocol):
    id: Any
    topic: str
    payload: dict[str, Any]


def book_shipment_for(event: Event) -> None:
    shipping = carrier()
    if shipping is None:
        log.warning("no carrier is configured (CARRIER): order %s is not booked", event.payload["order_id"])
        return
    booking.book_shipment(int(event.payload["order_id"]), shipping)


def cancel_shipment_for(event: Event) -> None:
    shipping = carrier()
    if shipping is not None:
        booking.cancel_shipment(int(event.payload["order_id"]), shipping)


try:
    from ..events import consumer
except ImportError:  # before the backbone's event framework is merged
    pass
else:
    consumer("logistics.book_shipment", "order.paid")(book_shipment_for)
    consumer("logistics.cancel_shipment", "order.cancelled")(cancel_shipment_for)
