"""Tracking: the carrier's events, pushed by signed webhook or fetched by polling, kept once each
and ordered by when they happened, and the shipment and its order following them.

A late or repeated event changes nothing it should not: the timeline is sorted by the carrier's
clock, so an `in_transit` arriving after `delivered` lands before it, and a shipment whose journey
has ended (delivered, returned) keeps its status."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..columns import utcnow
from ..extensions import db
from ..metrics import CARRIER_EVENTS, SHIPMENTS_BY_STATUS, SHIPMENTS_LATE
from ..orders import service as orders
from ..orders import states
from ..orders.models import Order
from ..outbox import record_event
from ..payments.models import insert_once
from .carrier import (
    ADDRESS_ISSUE,
    DELIVERED,
    FAILED_DELIVERY,
    IN_TRANSIT,
    LABEL_CREATED,
    PICKED_UP,
    RETURNED_TO_SENDER,
    Carrier,
    CarrierError,
    CarrierEvent,
)
from .models import BOOKING, FINAL, STATUSES, Shipment, ShipmentEvent, timeline
from .network import REDELIVERY_HOURS, NoRoute, load_network

log = logging.getLogger(__name__)

# How many shipments one polling run asks their carrier about.
POLL_BATCH = 500
# Statuses in which the parcel did not reach the customer: entering one publishes
# `shipment.delivery_failed` (customer service opens a ticket from it).
DELIVERY_PROBLEMS = frozenset({FAILED_DELIVERY, ADDRESS_ISSUE, RETURNED_TO_SENDER})


def record_carrier_events(carrier_name: str, events: list[CarrierEvent], source: str,
                          now: datetime | None = None) -> str:
    """Keep the carrier's events and move their shipments: applied | duplicate | ignored (no
    shipment of ours has that tracking number)."""
    now = now or utcnow()
    by_parcel: dict[str, list[CarrierEvent]] = defaultdict(list)
    for event in events:
        by_parcel[event.tracking_number].append(event)
    outcomes = {_record_parcel_events(carrier_name, tracking_number, parcel_events, source, now)
                for tracking_number, parcel_events in by_parcel.items()}
    return next((outcome for outcome in ("applied", "duplicate") if outcome in outcomes), "ignored")


def _record_parcel_events(carrier_name: str, tracking_number: str, events: list[CarrierEvent], source: str,
                          now: datetime) -> str:
    # The shipment's row lock: two deliveries for one parcel apply one after the other.
    shipment = db.session.scalar(select(Shipment).where(
        Shipment.carrier == carrier_name, Shipment.tracking_number == tracking_number).with_for_update())
    if shipment is None:
        db.session.commit()
        return "ignored"
    new = 0
    for event in events:
        new += db.session.execute(insert_once(
            ShipmentEvent, shipment_id=shipment.id, carrier_event_id=event.id, status=event.status, at=event.at,
            location=(event.location or None) and event.location[:100], detail=(event.detail or None)
            and event.detail[:200], source=source, received_at=now).returning(ShipmentEvent.id)).scalar() is not None
    if new:
        db.session.refresh(shipment, ["events"])
        _follow(shipment, now)
    db.session.commit()
    if not new:
        return "duplicate"
    CARRIER_EVENTS.labels(source=source).inc(new)
    return "applied"


def _follow(shipment: Shipment, now: datetime) -> None:
    """The shipment takes the status of its latest event (unless its journey has ended), its ETA
    follows where the parcel is, and the order follows the shipment."""
    if shipment.status in FINAL or shipment.status == BOOKING:
        return
    latest = timeline(shipment.events)[-1]
    if latest.status in DELIVERY_PROBLEMS and latest.status != shipment.status:
        record_event("shipment.delivery_failed", order_id=shipment.order_id, tracking_number=shipment.tracking_number,
                     carrier=shipment.carrier, status=latest.status, detail=latest.detail, at=latest.at.isoformat())
    shipment.status = latest.status
    shipment.eta = _eta(shipment, latest)
    shipment.updated_at = now
    order = db.session.get_one(Order, shipment.order_id)
    moved_on = any(event.status != LABEL_CREATED for event in shipment.events)
    if moved_on and order.status == states.PAID:
        orders.apply_move(order, states.SHIPPED,
                          f"picked up by carrier {shipment.carrier} (tracking {shipment.tracking_number})", now)
    if shipment.status == DELIVERED and order.status == states.SHIPPED:
        orders.apply_move(order, states.DELIVERED,
                          f"delivered by carrier {shipment.carrier} (tracking {shipment.tracking_number})", now)


def _eta(shipment: Shipment, latest: ShipmentEvent) -> datetime | None:
    """Recomputed from where the parcel was last seen: on time it stays, late it moves."""
    if latest.status in (ADDRESS_ISSUE, RETURNED_TO_SENDER):
        return None  # held, or going back: nobody can say when it arrives
    if latest.status == FAILED_DELIVERY:
        return latest.at + timedelta(hours=REDELIVERY_HOURS)
    network = load_network()
    hub = next((code for code, known in network.hubs.items() if known.name == latest.location), None)
    if latest.status not in (PICKED_UP, IN_TRANSIT) or hub is None:
        return shipment.eta
    try:
        return network.eta_from(network.route_to(shipment.postal_code), hub, latest.at)
    except NoRoute:
        return None


def poll_shipments(carrier: Carrier, now: datetime | None = None) -> int:
    """Ask the carrier for the events of every shipment still under way; how many were new."""
    now = now or utcnow()
    under_way = list(db.session.scalars(select(Shipment.tracking_number).where(
        Shipment.carrier == carrier.name, Shipment.tracking_number.is_not(None), Shipment.status.not_in(FINAL))
        .order_by(Shipment.id).limit(POLL_BATCH)))
    db.session.commit()
    applied = 0
    try:
        for tracking_number in filter(None, under_way):
            events = carrier.track(tracking_number)  # nothing of ours open meanwhile
            applied += bool(events) and record_carrier_events(carrier.name, events, "poll", now) == "applied"
    except CarrierError as error:
        log.warning("carrier %s did not answer tracking (%s); the next run goes on", carrier.name, error)
    return applied


def count_shipments(now: datetime | None = None) -> dict[str, int]:
    """Set the shipment gauges: how many are in each status, and how many are late (past their
    ETA, journey not ended)."""
    now = now or utcnow()
    counts: dict[str, int] = {status: count for status, count in db.session.execute(
        select(Shipment.status, func.count()).group_by(Shipment.status))}
    late = db.session.scalar(select(func.count()).select_from(Shipment).where(
        Shipment.eta < now, Shipment.status.not_in(FINAL)))
    db.session.commit()
    for status in STATUSES:
        SHIPMENTS_BY_STATUS.labels(status=status).set(counts.get(status, 0))
    SHIPMENTS_LATE.set(late or 0)
    return counts | {"late": late or 0}
