"""The sandbox carrier: behaves like a real one. It books a reference once, issues tracking
numbers, and its parcels travel the hub network by a schedule fixed at booking: label created,
picked up at the warehouse's collection, in transit at each hub of the route, out for delivery,
delivered. Its clock is `advance(now)` (the scheduler's periodic task, or a test): events become
visible (to `track`, and pushed as signed webhooks) only once their time has come.

Its ledger is tables of its own, written in its own transactions as a remote carrier's would be,
so any process can ask it what happened."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Row, String, delete, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from ..columns import UtcDateTime, iso, utcnow
from ..extensions import BaseModel, db
from ..payments.models import insert_once
from ..payments.webhooks import sign
from .carrier import (
    ADDRESS_ISSUE,
    DELIVERED,
    FAILED_DELIVERY,
    IN_TRANSIT,
    LABEL_CREATED,
    OUT_FOR_DELIVERY,
    PICKED_UP,
    RETURNED_TO_SENDER,
    Booking,
    CarrierEvent,
    CarrierRefused,
    Parcel,
)
from .network import REDELIVERY_HOURS, Network, NoRoute, load_network

DELAYED = "delayed"
# The sandbox's test addresses (like test cards): a first address line containing one of these
# (any case) makes the parcel's journey go that way; any other address is delivered on time.
SANDBOX_ADDRESSES = {
    "failed delivery lane": FAILED_DELIVERY,  # nobody home: tried again a day later, then delivered
    "address issue road": ADDRESS_ISSUE,  # the address cannot be found at the last hub: held there
    "return to sender street": RETURNED_TO_SENDER,  # delivery fails, and two days later it goes back
    "slow lane": DELAYED,  # the second leg of the route runs 12 hours late
}
DELAY_HOURS = 12


class SandboxParcel(BaseModel):
    """The sandbox's bookings: one per reference."""

    __tablename__ = "sandbox_parcels"

    reference: Mapped[str] = mapped_column(String(64), primary_key=True)
    tracking_number: Mapped[str] = mapped_column(String(64), unique=True)
    scenario: Mapped[str | None] = mapped_column(String(24))
    booked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SandboxTrackingEvent(BaseModel):
    """A parcel's journey, scheduled at booking; `emitted_at` is set once the sandbox's clock reaches `due_at`."""

    __tablename__ = "sandbox_tracking_events"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tracking_number: Mapped[str] = mapped_column(ForeignKey("sandbox_parcels.tracking_number"), index=True)
    status: Mapped[str] = mapped_column(String(24))
    location: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    emitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


def scenario_of(address: dict[str, Any]) -> str | None:
    line = str(address.get("line1", "")).lower()
    return next((scenario for marker, scenario in SANDBOX_ADDRESSES.items() if marker in line), None)


def journey(network: Network, postal_code: str, booked_at: datetime, scenario: str | None
            ) -> list[tuple[str, datetime, str | None, str | None]]:
    """The parcel's events: (status, due, location, detail), in order."""
    route = network.route_to(postal_code)
    names = {code: hub.name for code, hub in network.hubs.items()}
    departure = network.departure(booked_at)
    late = [0.0] + [DELAY_HOURS if scenario == DELAYED and index >= 2 else 0.0 for index in range(1, len(route.hubs))]
    arrivals = [departure + timedelta(hours=hours + delay) for hours, delay in zip(route.arrivals, late, strict=True)]
    destination = route.hubs[-1]
    delivery = arrivals[-1] + timedelta(hours=network.hubs[destination].delivery_hours)
    out = arrivals[-1] + (delivery - arrivals[-1]) / 2
    events = [(LABEL_CREATED, booked_at, None, "Label created"),
              (PICKED_UP, departure, names[route.hubs[0]], "Picked up at the warehouse")]
    events += [(IN_TRANSIT, at, names[hub], f"At the {names[hub]} hub") for hub, at in zip(route.hubs, arrivals,
                                                                                           strict=True)]
    if scenario == ADDRESS_ISSUE:
        return [*events, (ADDRESS_ISSUE, arrivals[-1] + timedelta(hours=1), names[destination],
                          "The address could not be found; held at the hub")]
    events.append((OUT_FOR_DELIVERY, out, names[destination], "Out for delivery"))
    if scenario in (FAILED_DELIVERY, RETURNED_TO_SENDER):
        events.append((FAILED_DELIVERY, delivery, names[destination], "Nobody was home"))
        retry = timedelta(hours=REDELIVERY_HOURS)
        if scenario == RETURNED_TO_SENDER:
            return [*events, (RETURNED_TO_SENDER, delivery + 2 * retry, names[destination], "Returned to sender")]
        events.append((OUT_FOR_DELIVERY, out + retry, names[destination], "Out for delivery again"))
        delivery += retry
    return [*events, (DELIVERED, delivery, names[destination], "Delivered")]


def _event(row: Row[Any]) -> CarrierEvent:
    return CarrierEvent(row.id, row.tracking_number, row.status, row.due_at, row.location, row.detail)


class SandboxCarrier:
    name = "sandbox"
    pushes_events = True

    def __init__(self, clock: Callable[[], datetime] = utcnow, network: Network | None = None,
                 time_scale: float = 1.0):
        if time_scale <= 0:
            raise ValueError(f"the sandbox's time scale must be positive, not {time_scale:g}")
        self.clock = clock
        self.network = network or load_network()
        # Its parcels travel this many times faster than real time (a lab's parcel is delivered in a minute).
        self.time_scale = time_scale

    def book(self, reference: str, origin: str, destination_address: dict[str, Any], parcel: Parcel) -> Booking:
        booked = self.lookup(reference)
        if booked is not None:
            return booked
        if origin != self.network.warehouse:
            raise CarrierRefused(f"the sandbox collects only at {self.network.warehouse}")
        now, scenario = self.clock(), scenario_of(destination_address)
        try:
            events = journey(self.network, str(destination_address.get("postal_code", "")), now, scenario)
        except NoRoute as error:
            raise CarrierRefused(error.detail) from error
        events = [(status, now + (due - now) / self.time_scale, location, detail)
                  for status, due, location, detail in events]
        tracking_number = f"SBX{secrets.token_hex(6).upper()}"
        # A connection and transaction of the sandbox's own: what it booked stays booked, whatever
        # becomes of the shop's transaction. A concurrent twin's booking wins the reference.
        with db.engine.begin() as connection:
            made = connection.execute(insert_once(SandboxParcel, reference=reference, tracking_number=tracking_number,
                                                  scenario=scenario, booked_at=now)
                                      .returning(SandboxParcel.reference)).scalar()
            if made is not None:
                connection.execute(insert(SandboxTrackingEvent), [
                    {"id": f"{tracking_number}-{number}", "tracking_number": tracking_number, "status": status,
                     "due_at": due, "location": location, "detail": detail}
                    for number, (status, due, location, detail) in enumerate(events, 1)])
        return self.lookup(reference)  # type: ignore[return-value]

    def lookup(self, reference: str) -> Booking | None:
        with db.engine.connect() as connection:
            parcel = connection.execute(select(SandboxParcel).where(SandboxParcel.reference == reference)).first()
        return None if parcel is None else Booking(parcel.reference, parcel.tracking_number, parcel.booked_at)

    def cancel(self, tracking_number: str) -> None:
        with db.engine.begin() as connection:
            picked_up = connection.execute(select(SandboxTrackingEvent.id).where(
                SandboxTrackingEvent.tracking_number == tracking_number, SandboxTrackingEvent.status == PICKED_UP,
                SandboxTrackingEvent.emitted_at.is_not(None))).first()
            if picked_up is not None:
                raise CarrierRefused(f"parcel {tracking_number} is picked up already")
            connection.execute(update(SandboxParcel).where(SandboxParcel.tracking_number == tracking_number,
                                                           SandboxParcel.cancelled_at.is_(None))
                               .values(cancelled_at=self.clock()))
            connection.execute(delete(SandboxTrackingEvent).where(
                SandboxTrackingEvent.tracking_number == tracking_number, SandboxTrackingEvent.emitted_at.is_(None)))

    def track(self, tracking_number: str) -> list[CarrierEvent]:
        with db.engine.connect() as connection:
            rows = connection.execute(select(SandboxTrackingEvent).where(
                SandboxTrackingEvent.tracking_number == tracking_number, SandboxTrackingEvent.emitted_at.is_not(None))
                .order_by(SandboxTrackingEvent.due_at)).all()
        return [_event(row) for row in rows]

    def advance(self, now: datetime) -> list[CarrierEvent]:
        """The sandbox's clock reaches `now`: the events due by then happen. Returns them (what
        it pushes as webhooks), oldest first."""
        with db.engine.begin() as connection:
            due = connection.execute(select(SandboxTrackingEvent).where(
                SandboxTrackingEvent.emitted_at.is_(None), SandboxTrackingEvent.due_at <= now)
                .order_by(SandboxTrackingEvent.due_at)).all()
            if due:
                connection.execute(update(SandboxTrackingEvent).where(
                    SandboxTrackingEvent.id.in_([row.id for row in due]), SandboxTrackingEvent.emitted_at.is_(None))
                    .values(emitted_at=now))
        return [_event(row) for row in due]

    @staticmethod
    def webhook(event: CarrierEvent, secret: str, timestamp: int) -> tuple[bytes, str]:
        """The signed webhook the sandbox sends for an event: the raw body and its signature header."""
        body = json.dumps({"id": event.id, "tracking_number": event.tracking_number, "status": event.status,
                           "at": iso(event.at), "location": event.location, "detail": event.detail},
                          separators=(",", ":")).encode()
        return body, sign(body, secret, timestamp)


def push_due_events(sandbox: SandboxCarrier, now: datetime, secret: str, tolerance_seconds: int) -> int:
    """The sandbox's clock reaches `now`, and it sends each event that happened as a signed
    webhook, received as any carrier's is (verified, then recorded). How many the shop applied."""
    from .tracking import record_carrier_events
    from .webhooks import read_signed_event

    timestamp, applied = int(now.timestamp()), 0
    for event in sandbox.advance(now):
        received = read_signed_event(*sandbox.webhook(event, secret, timestamp), [secret], tolerance_seconds,
                                     timestamp)
        applied += record_carrier_events(sandbox.name, [received], "webhook", now) == "applied"
    return applied
