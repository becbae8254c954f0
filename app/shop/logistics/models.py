"""Shipments: one per paid order, and the carrier's events of it.

A shipment is written (booking, with the shop's reference) and committed before the carrier is
called, so a crash between the call and its result leaves a row the reconciler can finish by
asking the carrier what it booked under that reference."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..columns import UtcDateTime, iso, utcnow
from ..extensions import BaseModel
from .carrier import DELIVERED, RETURNED_TO_SENDER, TRACKING_STATUSES

# A shipment's life: booking -> label_created -> the carrier's statuses (carrier.py) -> delivered |
# returned_to_sender; booking | label_created -> cancelled; booking -> unroutable (no route there).
BOOKING = "booking"
CANCELLED = "cancelled"
UNROUTABLE = "unroutable"
STATUSES = (BOOKING, *TRACKING_STATUSES, CANCELLED, UNROUTABLE)
# Where a shipment's status stops: a late event never moves it again.
FINAL = frozenset({DELIVERED, RETURNED_TO_SENDER, CANCELLED, UNROUTABLE})


class Shipment(BaseModel):
    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    carrier: Mapped[str] = mapped_column(String(32))
    # Sent with the booking: the carrier books a reference once, and answers for it when asked.
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    # The carrier's number for the parcel; empty until the carrier has answered.
    tracking_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    postal_code: Mapped[str] = mapped_column(String(20))
    # The hubs from the warehouse to the destination (empty when there is no route).
    route: Mapped[list[str]] = mapped_column(JSON)
    eta: Mapped[datetime | None] = mapped_column(UtcDateTime)
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    events: Mapped[list[ShipmentEvent]] = relationship(back_populates="shipment", order_by="ShipmentEvent.id")


class ShipmentEvent(BaseModel):
    """A carrier event, kept once however often (and in whatever order) it arrives."""

    __tablename__ = "shipment_events"
    __table_args__ = (UniqueConstraint("shipment_id", "carrier_event_id", name="uq_shipment_events_carrier_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    carrier_event_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    location: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(8))  # webhook | poll
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    shipment: Mapped[Shipment] = relationship(back_populates="events")


def timeline(events: list[ShipmentEvent]) -> list[ShipmentEvent]:
    """The events in the order they happened (by the carrier's clock; at the same moment, in the
    order a journey goes), whatever order they arrived in."""
    return sorted(events, key=lambda event: (event.at, TRACKING_STATUSES.index(event.status), event.id or 0))


def shipment_document(shipment: Shipment) -> dict[str, Any]:
    return {"tracking_number": shipment.tracking_number, "carrier": shipment.carrier, "status": shipment.status,
            "route": list(shipment.route), "eta": iso(shipment.eta),
            "events": [{"status": event.status, "at": iso(event.at), "location": event.location,
                        "detail": event.detail} for event in timeline(shipment.events)]}
