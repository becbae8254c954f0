"""The order events logistics acts on: a paid order is booked with the carrier, a cancelled one
calls its booking off. The backbone skips events already handled, and both are idempotent anyway:
the shipment is keyed by its order, and the carrier books a reference once."""

from __future__ import annotations

import logging

from ..events import Event, consumer
from ..extensions import carrier
from . import booking

log = logging.getLogger(__name__)


@consumer("logistics.book_shipment", "order.paid")
def book_shipment_for(event: Event) -> None:
    shipping = carrier()
    if shipping is None:
        log.warning("no carrier is configured (CARRIER): order %s is not booked", event.payload["order_id"])
        return
    booking.book_shipment(int(event.payload["order_id"]), shipping)


@consumer("logistics.cancel_shipment", "order.cancelled")
def cancel_shipment_for(event: Event) -> None:
    shipping = carrier()
    if shipping is not None:
        booking.cancel_shipment(int(event.payload["order_id"]), shipping)

