"""Booking a paid order's shipment, in three steps so that nothing is locked while the carrier
is called:

1. the shipment is recorded (booking, under the order's own reference: one per order) with its
   route, and committed;
2. the carrier is asked to book that reference, with nothing of ours open;
3. the tracking number and ETA are recorded, in a second transaction.

A crash between 2 and 3 leaves a shipment in `booking`, which the reconciler finishes by asking
the carrier what it booked under the reference. A cancelled order calls the booking off.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from ..columns import utcnow
from ..database import matched
from ..extensions import db
from ..orders import states
from ..orders.models import Order
from ..payments.models import insert_once
from .carrier import LABEL_CREATED, Booking, Carrier, CarrierError, CarrierRefused, Parcel
from .models import BOOKING, CANCELLED, UNROUTABLE, Shipment
from .network import NoRoute, load_network

log = logging.getLogger(__name__)

# How many shipments stuck in booking one reconciler run looks at.
RECONCILE_BATCH = 200


def shipment_reference(order_id: int) -> str:
    """The reference the carrier books the order's parcel under: one parcel per order."""
    return f"shp_order_{order_id}"


@dataclass(frozen=True)
class Intent:
    """What the carrier call needs, read before step 1's commit."""

    shipment_id: int
    reference: str
    address: dict[str, Any]
    items: int


def book_shipment(order_id: int, carrier: Carrier, now: datetime | None = None) -> str:
    """Book the paid order's shipment once; the shipment's status after (booking while the carrier
    has not answered)."""
    now = now or utcnow()
    intent = _record_intent(order_id, carrier.name, now)
    if isinstance(intent, str):
        return intent
    try:
        booking = carrier.book(intent.reference, load_network().warehouse, intent.address, Parcel(intent.items))
    except CarrierRefused as refusal:
        return _refused(intent.shipment_id, str(refusal), now)
    except CarrierError as error:
        log.warning("carrier %s did not answer booking %s (%s); the reconciler finishes it", carrier.name,
                    intent.reference, error)
        return BOOKING
    return record_booking(intent.shipment_id, booking, carrier, now)


def _record_intent(order_id: int, carrier_name: str, now: datetime) -> Intent | str:
    """Step 1: the shipment under the order's reference (resumed if made already), committed."""
    order = db.session.get(Order, order_id)
    if order is None or order.status != states.PAID:
        status = "no order" if order is None else f"order {order.status}"
        db.session.commit()
        return status
    address = dict(order.shipping_address or {})
    postal_code = str(address.get("postal_code", ""))[:20]
    db.session.execute(insert_once(Shipment, order_id=order_id, carrier=carrier_name,
                                   reference=shipment_reference(order_id), status=BOOKING, postal_code=postal_code,
                                   route=[], created_at=now, updated_at=now))
    shipment = db.session.scalars(select(Shipment).where(Shipment.order_id == order_id)).one()
    if shipment.status != BOOKING:
        status = shipment.status
        db.session.commit()
        return status
    try:
        shipment.route = list(load_network().route_to(postal_code).hubs)
    except NoRoute as no_route:
        shipment.status, shipment.failure_reason = UNROUTABLE, no_route.detail[:200]
        db.session.commit()
        return UNROUTABLE
    intent = Intent(shipment.id, shipment.reference, address, sum(line.quantity for line in order.lines))
    db.session.commit()
    return intent


def _refused(shipment_id: int, reason: str, now: datetime) -> str:
    db.session.execute(update(Shipment).where(Shipment.id == shipment_id, Shipment.status == BOOKING)
                       .values(status=UNROUTABLE, failure_reason=f"refused by the carrier: {reason}"[:200],
                               updated_at=now))
    db.session.commit()
    return UNROUTABLE


def record_booking(shipment_id: int, booking: Booking, carrier: Carrier, now: datetime) -> str:
    """Step 3: the carrier's booking recorded with the ETA it gives. Recording twice is harmless;
    a booking made for an order cancelled meanwhile is called off at the carrier."""
    shipment = db.session.get_one(Shipment, shipment_id, populate_existing=True)
    network = load_network()
    eta = network.eta(network.route_to(shipment.postal_code), booking.booked_at)
    recorded = matched(db.session.execute(
        update(Shipment).where(Shipment.id == shipment_id, Shipment.status == BOOKING)
        .values(status=LABEL_CREATED, tracking_number=booking.tracking_number, eta=eta, updated_at=now)
    )) == 1
    if recorded:
        db.session.commit()
        return LABEL_CREATED
    status = db.session.scalars(select(Shipment.status).where(Shipment.id == shipment_id)).one()
    if status == CANCELLED:
        db.session.execute(update(Shipment).where(Shipment.id == shipment_id, Shipment.tracking_number.is_(None))
                           .values(tracking_number=booking.tracking_number, updated_at=now))
    db.session.commit()
    if status == CANCELLED:
        _call_off(carrier, booking.tracking_number)
    return status


def _call_off(carrier: Carrier, tracking_number: str) -> bool:
    try:
        carrier.cancel(tracking_number)
    except CarrierRefused as refusal:
        log.warning("carrier %s kept parcel %s of a cancelled order: %s", carrier.name, tracking_number, refusal)
        return False
    return True


def cancel_shipment(order_id: int, carrier: Carrier, now: datetime | None = None) -> str:
    """Call off the cancelled order's shipment if it is not picked up yet; its status after."""
    now = now or utcnow()
    shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order_id))
    if shipment is None:
        db.session.commit()
        return "none"
    shipment_id, status, tracking_number = shipment.id, shipment.status, shipment.tracking_number
    if status == BOOKING:
        # The booking in flight sees this and calls its parcel off once the carrier answers.
        cancelled = matched(db.session.execute(
            update(Shipment).where(Shipment.id == shipment_id, Shipment.status == BOOKING)
            .values(status=CANCELLED, updated_at=now))) == 1
        db.session.commit()
        return CANCELLED if cancelled else cancel_shipment(order_id, carrier, now)
    db.session.commit()
    if status != LABEL_CREATED or tracking_number is None or not _call_off(carrier, tracking_number):
        return status
    db.session.execute(update(Shipment).where(Shipment.id == shipment_id, Shipment.status == LABEL_CREATED)
                       .values(status=CANCELLED, updated_at=now))
    db.session.commit()
    return CANCELLED


def reconcile_shipments(carrier: Carrier, grace_seconds: int, now: datetime | None = None) -> int:
    """Finish the shipments left in booking for longer than `grace_seconds` (younger ones may
    still be in a consumer's hands) by asking the carrier what it booked under each reference,
    and booking those it never did. How many were finished."""
    now = now or utcnow()
    stuck = db.session.execute(select(Shipment.id, Shipment.order_id, Shipment.reference).where(
        Shipment.status == BOOKING, Shipment.carrier == carrier.name,
        Shipment.created_at <= now - timedelta(seconds=grace_seconds)).order_by(Shipment.id)
        .limit(RECONCILE_BATCH)).all()
    db.session.commit()
    finished = 0
    try:
        for shipment_id, order_id, reference in stuck:
            booking = carrier.lookup(reference)
            status = (record_booking(shipment_id, booking, carrier, now) if booking is not None
                      else book_shipment(order_id, carrier, now))
            finished += status != BOOKING
    except CarrierError as error:
        log.warning("carrier %s did not answer (%s); the next run goes on", carrier.name, error)
    return finished
