"""Logistics: a paid order is booked with the (sandbox) carrier, tracked by webhook or polling,
and the order follows its shipment to delivered; cancelled orders call their parcel off.

The sandbox carrier's clock is driven directly (`advance(now)`), so no test waits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import current_app
from prometheus_client import REGISTRY
from sqlalchemy import select

from shop.cart.pricing import PricingPolicy
from shop.columns import utcnow
from shop.extensions import db, payment_gateway
from shop.logistics import booking as bookings
from shop.logistics.carrier import CarrierError, CarrierEvent
from shop.logistics.consumers import book_shipment_for, cancel_shipment_for
from shop.logistics.models import Shipment, ShipmentEvent
from shop.logistics.network import load_network
from shop.logistics.sandbox import SandboxCarrier, SandboxParcel, push_due_events
from shop.logistics.tracking import count_shipments, poll_shipments, record_carrier_events
from shop.orders.models import Order
from shop.orders.service import place_order
from shop.payments import service as payments
from shop.payments.gateway import Card

from .factories import ADDRESS, auth_headers, make_cart, make_product, make_user

# Far enough ahead for any sandbox journey to have ended (a redelivery or a return included).
JOURNEY_OVER = timedelta(days=7)
# Parcels are booked on a Monday at 10:00 UTC: collected at the 16:00 cut-off, 6 hours later.
BOOKED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
COLLECTED = timedelta(hours=6)


@pytest.fixture(autouse=True)
def sandbox_clock(app):
    """The app's sandbox carrier books at BOOKED."""
    app.extensions["carrier"] = SandboxCarrier(clock=lambda: BOOKED)


@dataclass(frozen=True)
class Event:
    """An event of the backbone's shape, as its consumers receive it."""

    id: int
    topic: str
    payload: dict[str, Any]
    occurred_at: datetime


def paid_order(client, line1: str = ADDRESS["line1"], postal_code: str = ADDRESS["postal_code"]):
    """An order paid through the payments service, not a request: no relay runs after it, so each
    test hands the order's events to the consumers itself (after a request, the in-process relay
    would, on the embedded default)."""
    customer = make_user()
    config = current_app.config
    order = place_order(make_cart(customer, (make_product(), 2)).id, customer,
                        {**ADDRESS, "line1": line1, "postal_code": postal_code},
                        PricingPolicy.from_config(config), config["ORDER_RESERVATION_SECONDS"])
    _, status = payments.pay_order(order["id"], customer, Card("4242424242424242", 12, 2099, "123"),
                                   payment_gateway())
    assert status == "succeeded"
    return customer, order


def order_paid(order) -> Event:
    return Event(1, "order.paid", {"order_id": order["id"]}, utcnow())


def order_cancelled(order) -> Event:
    return Event(2, "order.cancelled", {"order_id": order["id"]}, utcnow())


def sandbox() -> SandboxCarrier:
    return current_app.extensions["carrier"]


def shipment_of(order) -> Shipment:
    db.session.expire_all()
    return db.session.scalar(select(Shipment).where(Shipment.order_id == order["id"]))


def order_status(order) -> str:
    db.session.expire_all()
    return db.session.get(Order, order["id"]).status


def booked_at(order) -> datetime:
    return db.session.scalar(select(SandboxParcel.booked_at).where(
        SandboxParcel.tracking_number == shipment_of(order).tracking_number))


def push_until(order, after: timedelta) -> int:
    """The sandbox's clock moves to `after` past the booking, pushing what happened as webhooks."""
    config = current_app.config
    return push_due_events(sandbox(), booked_at(order) + after, config["CARRIER_WEBHOOK_SECRETS"][0],
                           config["CARRIER_WEBHOOK_TOLERANCE_SECONDS"])


def carrier_events(source: str) -> float:
    return REGISTRY.get_sample_value("shop_carrier_events_total", {"source": source}) or 0.0


# --- booking ----------------------------------------------------------------------------------

def test_a_paid_order_is_booked_once_however_often_its_event_comes(client):
    _, order = paid_order(client)
    book_shipment_for(order_paid(order))
    book_shipment_for(order_paid(order))
    shipment = shipment_of(order)
    assert shipment.status == "label_created"
    assert shipment.tracking_number.startswith("SBX")
    assert shipment.route == ["DIR", "LON"]
    network = load_network()
    assert shipment.eta == network.eta(network.route_to(ADDRESS["postal_code"]), booked_at(order))
    assert len(db.session.scalars(select(SandboxParcel)).all()) == 1


def test_an_unpaid_order_is_not_booked(client):
    customer = make_user()
    config = current_app.config
    order = place_order(make_cart(customer, (make_product(), 1)).id, customer, ADDRESS,
                        PricingPolicy.from_config(config), config["ORDER_RESERVATION_SECONDS"])
    book_shipment_for(order_paid(order))
    assert shipment_of(order) is None


def test_an_order_no_route_reaches_is_unroutable_with_no_eta(client):
    customer, order = paid_order(client, postal_code="ZE1 0AA")
    book_shipment_for(order_paid(order))
    shipment = shipment_of(order)
    assert (shipment.status, shipment.eta, shipment.tracking_number) == ("unroutable", None, None)
    assert "No route" in shipment.failure_reason
    assert db.session.scalars(select(SandboxParcel)).all() == []
    answer = client.get(f"/api/v1/orders/{order['id']}/shipment", headers=auth_headers(customer)).json
    assert (answer["status"], answer["eta"], answer["route"]) == ("unroutable", None, [])


class CrashAfterBooking(SandboxCarrier):
    """Books, then loses the answer (the process died, or the connection dropped)."""

    def book(self, *args, **kwargs):
        super().book(*args, **kwargs)
        raise CarrierError("connection reset")


class Unreachable(SandboxCarrier):
    def book(self, *args, **kwargs):
        raise CarrierError("connection refused")


@pytest.mark.parametrize("carrier", [CrashAfterBooking, Unreachable], ids=["booked-unrecorded", "never-booked"])
def test_the_reconciler_finishes_a_shipment_stuck_booking(client, carrier):
    _, order = paid_order(client)
    assert bookings.book_shipment(order["id"], carrier()) == "booking"
    assert shipment_of(order).status == "booking"
    assert bookings.reconcile_shipments(sandbox(), grace_seconds=0, now=utcnow() + timedelta(seconds=1)) == 1
    shipment = shipment_of(order)
    assert shipment.status == "label_created"
    assert db.session.scalars(select(SandboxParcel.tracking_number)).all() == [shipment.tracking_number]


def test_the_reconciler_leaves_a_young_booking_to_its_consumer(client):
    _, order = paid_order(client)
    bookings.book_shipment(order["id"], Unreachable())
    assert bookings.reconcile_shipments(sandbox(), grace_seconds=120) == 0
    assert shipment_of(order).status == "booking"


# --- the journey --------------------------------------------------------------------------------

def test_pay_ship_deliver_by_webhooks(client):
    customer, order = paid_order(client)
    book_shipment_for(order_paid(order))
    pushed = carrier_events("webhook")
    push_until(order, COLLECTED + timedelta(minutes=30))
    assert order_status(order) == "shipped"
    push_until(order, JOURNEY_OVER)
    assert order_status(order) == "delivered"
    assert shipment_of(order).status == "delivered"
    answer = client.get(f"/api/v1/orders/{order['id']}", headers=auth_headers(customer)).json
    moves = [(step["to_status"], step["cause"]) for step in answer["transitions"]][-2:]
    tracking = shipment_of(order).tracking_number
    assert moves == [("shipped", f"picked up by carrier sandbox (tracking {tracking})"),
                     ("delivered", f"delivered by carrier sandbox (tracking {tracking})")]
    assert carrier_events("webhook") - pushed == 6  # label, pick-up, 2 hubs, out for delivery, delivered


def test_polling_follows_the_parcel_as_webhooks_do(client):
    _, order = paid_order(client)
    book_shipment_for(order_paid(order))
    polled = carrier_events("poll")
    sandbox().advance(booked_at(order) + JOURNEY_OVER)  # the events happen; nobody pushes them
    assert poll_shipments(sandbox()) == 1
    assert order_status(order) == "delivered"
    assert poll_shipments(sandbox()) == 0  # delivered: no longer asked about
    assert carrier_events("poll") - polled == 6
    assert set(db.session.scalars(select(ShipmentEvent.source))) == {"poll"}


def test_the_timeline_is_ordered_by_the_carriers_clock(client):
    customer, order = paid_order(client)
    book_shipment_for(order_paid(order))
    sandbox().advance(booked_at(order) + JOURNEY_OVER)
    events = sandbox().track(shipment_of(order).tracking_number)
    for event in reversed(events):  # newest first: the worst order they can come in
        record_carrier_events("sandbox", [event], "webhook")
    answer = client.get(f"/api/v1/orders/{order['id']}/shipment", headers=auth_headers(customer)).json
    assert [event["status"] for event in answer["events"]] == [
        "label_created", "picked_up", "in_transit", "in_transit", "out_for_delivery", "delivered"]
    assert [event["location"] for event in answer["events"][2:4]] == ["Daventry (warehouse)", "London"]
    assert answer["status"] == "delivered"
    assert order_status(order) == "delivered"


def test_a_late_in_transit_never_moves_a_delivered_shipment_back(client):
    _, order = paid_order(client)
    book_shipment_for(order_paid(order))
    tracking = shipment_of(order).tracking_number
    at = booked_at(order)
    record_carrier_events("sandbox", [CarrierEvent("x-1", tracking, "delivered", at + timedelta(days=1), "London")],
                          "webhook")
    late = CarrierEvent("x-2", tracking, "in_transit", at + timedelta(days=2), "London", "scanned late")
    assert record_carrier_events("sandbox", [late], "webhook") == "applied"
    assert shipment_of(order).status == "delivered"
    assert order_status(order) == "delivered"


def test_a_repeated_event_is_kept_once(client):
    _, order = paid_order(client)
    book_shipment_for(order_paid(order))
    event = CarrierEvent("x-1", shipment_of(order).tracking_number, "picked_up", utcnow(), "Daventry (warehouse)")
    assert record_carrier_events("sandbox", [event], "webhook") == "applied"
    assert record_carrier_events("sandbox", [event], "poll") == "duplicate"
    assert len(db.session.scalars(select(ShipmentEvent)).all()) == 1
    assert [step.to_status for step in db.session.get(Order, order["id"]).transitions].count("shipped") == 1


def test_an_event_for_a_parcel_the_shop_does_not_know_is_ignored(app):
    assert record_carrier_events("sandbox", [CarrierEvent("x-1", "SBXNOPE", "delivered", utcnow())],
                                 "webhook") == "ignored"


def test_a_delay_on_the_route_moves_the_eta(client):
    # Slow Lane's parcels run 12 hours late from the route's second leg; Edinburgh is 4 legs away.
    _, order = paid_order(client, line1="1 Slow Lane", postal_code="EH1 1YZ")
    book_shipment_for(order_paid(order))
    planned = shipment_of(order).eta
    push_until(order, COLLECTED + timedelta(hours=3))  # picked up, through Nottingham, not yet at Leeds
    assert shipment_of(order).status == "in_transit"
    assert shipment_of(order).eta == planned
    push_until(order, COLLECTED + timedelta(hours=4 + 12 + 1))  # at Leeds, 12 hours late
    assert shipment_of(order).eta == planned + timedelta(hours=12)
    push_until(order, JOURNEY_OVER)
    assert order_status(order) == "delivered"


@pytest.mark.parametrize(("line1", "status", "order_ends", "eta_known"), [
    ("7 Failed Delivery Lane", "delivered", "delivered", True),
    ("7 Address Issue Road", "address_issue", "shipped", False),
    ("7 Return To Sender Street", "returned_to_sender", "shipped", False),
], ids=["failed-then-delivered", "address-issue", "returned"])
def test_the_sandbox_test_addresses_take_their_journey(client, line1, status, order_ends, eta_known):
    _, order = paid_order(client, line1=line1)
    book_shipment_for(order_paid(order))
    push_until(order, JOURNEY_OVER)
    shipment = shipment_of(order)
    assert shipment.status == status
    assert (shipment.eta is not None) is eta_known
    assert order_status(order) == order_ends


def test_a_failed_delivery_moves_the_eta_to_the_next_day(client):
    _, order = paid_order(client, line1="7 Failed Delivery Lane")
    book_shipment_for(order_paid(order))
    planned = shipment_of(order).eta
    push_until(order, planned - booked_at(order))  # up to the failed attempt
    assert shipment_of(order).status == "failed_delivery"
    assert shipment_of(order).eta == planned + timedelta(hours=24)


# --- cancelling ------------------------------------------------------------------------------------

def test_a_cancelled_order_calls_off_a_parcel_not_yet_picked_up(client):
    customer, order = paid_order(client)
    book_shipment_for(order_paid(order))
    assert client.post(f"/api/v1/orders/{order['id']}/cancel", headers=auth_headers(customer)).status_code == 200
    cancel_shipment_for(order_cancelled(order))
    cancel_shipment_for(order_cancelled(order))
    assert shipment_of(order).status == "cancelled"
    assert db.session.scalar(select(SandboxParcel.cancelled_at)) is not None
    assert push_until(order, JOURNEY_OVER) == 0  # the parcel never travels


def test_a_parcel_already_picked_up_is_not_called_off(client):
    _, order = paid_order(client)
    book_shipment_for(order_paid(order))
    push_until(order, COLLECTED)
    status = shipment_of(order).status
    cancel_shipment_for(order_cancelled(order))
    assert shipment_of(order).status == status != "cancelled"
    assert db.session.scalar(select(SandboxParcel.cancelled_at)) is None


def test_an_order_cancelled_while_its_booking_is_in_flight_has_its_parcel_called_off(client):
    _, order = paid_order(client)

    class CancelledMeanwhile(SandboxCarrier):
        def book(self, *args, **kwargs):
            # The cancel consumer runs while the carrier is being called.
            assert bookings.cancel_shipment(order["id"], self) == "cancelled"
            return super().book(*args, **kwargs)

    assert bookings.book_shipment(order["id"], CancelledMeanwhile()) == "cancelled"
    shipment = shipment_of(order)
    assert shipment.status == "cancelled"
    assert db.session.scalar(select(SandboxParcel.tracking_number)) == shipment.tracking_number
    assert db.session.scalar(select(SandboxParcel.cancelled_at)) is not None


def test_an_order_without_a_shipment_has_nothing_to_call_off(client):
    _, order = paid_order(client)
    cancel_shipment_for(order_cancelled(order))
    assert shipment_of(order) is None


# --- metrics -------------------------------------------------------------------------------------------

def test_the_gauges_count_shipments_by_status_and_the_late_ones(client):
    _, order = paid_order(client)
    book_shipment_for(order_paid(order))
    eta = shipment_of(order).eta
    assert count_shipments(eta - timedelta(minutes=1))["late"] == 0
    assert count_shipments(eta + timedelta(minutes=1))["late"] == 1
    assert REGISTRY.get_sample_value("shop_shipments_late") == 1
    assert REGISTRY.get_sample_value("shop_shipments_by_status", {"status": "label_created"}) == 1
    push_until(order, JOURNEY_OVER)
    assert count_shipments(eta + timedelta(minutes=1))["late"] == 0
    assert REGISTRY.get_sample_value("shop_shipments_by_status", {"status": "delivered"}) == 1


def test_the_scheduler_advances_the_sandbox_and_follows_shipments(app):
    schedule = {entry["task"] for entry in app.extensions["celery"].conf.beat_schedule.values()}
    assert {"shop.tasks.advance_sandbox_carrier", "shop.tasks.follow_shipments"} <= schedule
    assert {"shop.tasks.advance_sandbox_carrier", "shop.tasks.follow_shipments"} <= set(app.extensions["celery"].tasks)


def test_the_command_line_moves_the_sandbox_clock_and_follows_shipments(client, runner):
    # On the embedded default no scheduler runs: these commands are its beat.
    _, order = paid_order(client)
    book_shipment_for(order_paid(order))
    moved = runner.invoke(args=["logistics", "advance-sandbox", "--to", (BOOKED + JOURNEY_OVER).isoformat()])
    assert moved.exit_code == 0, moved.output
    assert "6 events" in moved.output
    assert order_status(order) == "delivered"
    followed = runner.invoke(args=["logistics", "follow"])
    assert followed.exit_code == 0, followed.output
    assert "delivered: 1" in followed.output


@pytest.mark.parametrize("when", ["next tuesday", "2026-03-09T10:00:00"], ids=["not-a-time", "no-zone"])
def test_the_sandbox_clock_command_refuses_a_time_it_cannot_place(runner, when):
    refused = runner.invoke(args=["logistics", "advance-sandbox", "--to", when])
    assert refused.exit_code == 2
    assert "--to" in refused.output


def test_without_a_carrier_no_shipment_is_booked_or_called_off(client, app):
    _, order = paid_order(client)
    del app.extensions["carrier"]
    book_shipment_for(order_paid(order))
    cancel_shipment_for(order_cancelled(order))
    assert shipment_of(order) is None


def test_a_faster_sandbox_delivers_within_the_scaled_journey(client, app):
    app.extensions["carrier"] = SandboxCarrier(clock=lambda: BOOKED, time_scale=20_000)
    _, order = paid_order(client)
    book_shipment_for(order_paid(order))
    push_until(order, JOURNEY_OVER / 20_000)
    assert order_status(order) == "delivered"


def test_a_sandbox_at_real_speed_has_not_delivered_a_minute_after_booking(client):
    _, order = paid_order(client)
    book_shipment_for(order_paid(order))
    push_until(order, timedelta(minutes=1))
    assert order_status(order) == "paid"


def test_the_sandbox_refuses_a_time_scale_that_is_not_positive():
    with pytest.raises(ValueError, match="positive"):
        SandboxCarrier(time_scale=0)
