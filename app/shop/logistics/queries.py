"""What the API and the storefront show of shipments."""

from __future__ import annotations

import hmac
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from ..errors import NotFound
from ..extensions import db
from ..orders import service as orders
from .models import Shipment, shipment_document
from .network import normalise

# Longest tracking number any carrier issues; a longer one cannot exist.
MAX_TRACKING_NUMBER = 64


def shipment_for_order(order_id: int) -> dict[str, Any] | None:
    """The order's shipment, or None before one is booked (the caller has checked who may see the order)."""
    shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order_id)
                                 .options(selectinload(Shipment.events)))
    document = None if shipment is None else shipment_document(shipment)
    db.session.commit()
    return document


def order_shipment(order_id: int, viewer: User) -> dict[str, Any]:
    """The shipment of an order the viewer may see (their own, or any for staff)."""
    orders.find_order(order_id, viewer)
    document = shipment_for_order(order_id)
    if document is None:
        raise NotFound(f"Shipment of order {order_id}")
    return document


def tracked_shipment(tracking_number: str, postal_code: str) -> dict[str, Any]:
    """The timeline for anyone who knows both the tracking number and the destination's postal
    code; either wrong is the same 404, and the postal codes are compared in constant time."""
    shipment = None
    if len(tracking_number) <= MAX_TRACKING_NUMBER:
        shipment = db.session.scalar(select(Shipment).where(Shipment.tracking_number == tracking_number)
                                     .options(selectinload(Shipment.events)))
    expected = normalise(shipment.postal_code) if shipment is not None else ""
    matches = hmac.compare_digest(expected.encode(), normalise(postal_code).encode())
    document = shipment_document(shipment) if shipment is not None and matches and expected else None
    db.session.commit()
    if document is None:
        raise NotFound("Shipment")
    return document
