"""Carriers: the interface the shop ships parcels through.

Every booking carries the shop's own reference, which the carrier treats as an idempotency key:
booking again under the same reference answers the first booking, and `lookup` tells what was
booked under it, so a crash between a call and its result is resolved by asking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

# What a carrier reports of a parcel, in the order a journey usually goes.
LABEL_CREATED = "label_created"
PICKED_UP = "picked_up"
IN_TRANSIT = "in_transit"
OUT_FOR_DELIVERY = "out_for_delivery"
FAILED_DELIVERY = "failed_delivery"
ADDRESS_ISSUE = "address_issue"
RETURNED_TO_SENDER = "returned_to_sender"
DELIVERED = "delivered"
TRACKING_STATUSES = (LABEL_CREATED, PICKED_UP, IN_TRANSIT, OUT_FOR_DELIVERY, FAILED_DELIVERY, ADDRESS_ISSUE,
                     RETURNED_TO_SENDER, DELIVERED)


@dataclass(frozen=True)
class Parcel:
    items: int


@dataclass(frozen=True)
class Booking:
    reference: str  # the shop's
    tracking_number: str  # the carrier's
    booked_at: datetime


@dataclass(frozen=True)
class CarrierEvent:
    id: str  # the carrier's id for the event: the same event sent twice has the same id
    tracking_number: str
    status: str
    at: datetime  # when it happened, by the carrier's clock
    location: str | None = None
    detail: str | None = None


class CarrierError(Exception):
    """The carrier could not be reached or did not answer: what happened is not known yet."""


class CarrierRefused(Exception):
    """The carrier answered no (a parcel already picked up cannot be cancelled, say)."""


class Carrier(Protocol):
    name: str
    # Whether the carrier sends its events by webhook; the shop polls those that do not.
    pushes_events: bool

    def book(self, reference: str, origin: str, destination_address: dict[str, Any], parcel: Parcel) -> Booking:
        """Book a collection once per reference; the same reference again answers the same booking."""

    def lookup(self, reference: str) -> Booking | None:
        """The booking made under this reference, or None if the carrier never made one."""

    def cancel(self, tracking_number: str) -> None:
        """Call off a parcel not yet picked up; cancelling again does nothing."""

    def track(self, tracking_number: str) -> list[CarrierEvent]:
        """Every event of the parcel so far."""
