"""Tickets the backbone's events open or update: a parcel the carrier could not deliver, and a
refund. A duplicated event has one effect (the consumer's inbox)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from shop import events
from shop.accounts.models import User
from shop.columns import utcnow
from shop.events.delivery import DUPLICATE, PROCESSED, deliver
from shop.extensions import db
from shop.logistics.carrier import CarrierEvent
from shop.logistics.consumers import book_shipment_for
from shop.logistics.tracking import record_carrier_events
from shop.outbox import OutboxEvent
from shop.support.models import Ticket, TicketMessage
from shop.tasks import relay_outbox

from .factories import auth_headers, make_order, make_user
from .test_logistics import order_paid, paid_order, sandbox_clock, shipment_of  # noqa: F401 - fixture

MOMENT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def delivery_failed(event_id: int, order_id: int, status: str = "failed_delivery") -> events.Event:
    return events.Event(event_id, "shipment.delivery_failed",
                        {"order_id": order_id, "status": status, "detail": "nobody home", "tracking_number": "T1"},
                        MOMENT)


def refunded(event_id: int, order_id: int, amount_cents: int = 4599) -> events.Event:
    return events.Event(event_id, "payment.refunded",
                        {"order_id": order_id, "payment_id": 1, "amount_cents": amount_cents, "currency": "EUR"},
                        MOMENT)


def consumer(name: str) -> events.Consumer:
    return events.consumers()[name]


def tickets_of(order_id: int) -> list[Ticket]:
    db.session.expire_all()
    return list(db.session.scalars(select(Ticket).where(Ticket.order_id == order_id).order_by(Ticket.id)))


def messages_of(ticket_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(TicketMessage)
                             .where(TicketMessage.ticket_id == ticket_id))


@pytest.fixture
def order(app):
    return make_order(make_user(), status="shipped")


def test_a_failed_delivery_opens_a_shipping_ticket_waiting_for_staff(order):
    assert deliver(consumer("support.delivery_problem"), delivery_failed(1, order["id"])) == PROCESSED
    [ticket] = tickets_of(order["id"])
    assert (ticket.category, ticket.source, ticket.status, ticket.customer_id) == (
        "shipping", "delivery", "open", order["customer_id"])
    assert ticket.priority == "high"
    assert "nobody home" in ticket.messages[0].body


def test_a_duplicated_failed_delivery_event_has_one_effect(order):
    assert deliver(consumer("support.delivery_problem"), delivery_failed(1, order["id"])) == PROCESSED
    assert deliver(consumer("support.delivery_problem"), delivery_failed(1, order["id"])) == DUPLICATE
    [ticket] = tickets_of(order["id"])
    assert messages_of(ticket.id) == 1


def test_a_second_failure_updates_the_orders_ticket_and_waits_for_staff_again(client, order):
    deliver(consumer("support.delivery_problem"), delivery_failed(1, order["id"]))
    [ticket] = tickets_of(order["id"])
    client.post(f"/api/v1/tickets/{ticket.id}/messages", json={"body": "We will try again tomorrow."},
                headers=auth_headers(make_user("staff")))
    deliver(consumer("support.delivery_problem"), delivery_failed(2, order["id"], "address_issue"))
    [ticket] = tickets_of(order["id"])
    assert ticket.status == "open"
    assert messages_of(ticket.id) == 3


def test_a_refund_without_a_ticket_is_recorded_as_a_resolved_refund_ticket(order):
    assert deliver(consumer("support.refund"), refunded(5, order["id"])) == PROCESSED
    [ticket] = tickets_of(order["id"])
    assert (ticket.category, ticket.source, ticket.status) == ("refund", "refund", "resolved")
    assert "45.99 EUR" in ticket.messages[0].body


def test_a_refund_is_noted_on_the_orders_open_ticket(client, order):
    customer = db.session.get(User, order["customer_id"])
    opened = client.post("/api/v1/tickets", json={"subject": "Refund?", "message": "Please refund the pan.",
                                                  "order_id": order["id"]}, headers=auth_headers(customer)).json
    deliver(consumer("support.refund"), refunded(5, order["id"]))
    assert [ticket.id for ticket in tickets_of(order["id"])] == [opened["id"]]
    assert messages_of(opened["id"]) == 2


def test_a_duplicated_refund_event_has_one_effect(order):
    deliver(consumer("support.refund"), refunded(5, order["id"]))
    assert deliver(consumer("support.refund"), refunded(5, order["id"])) == DUPLICATE
    [ticket] = tickets_of(order["id"])
    assert messages_of(ticket.id) == 1


def test_an_event_for_an_unknown_order_changes_nothing(app):
    assert deliver(consumer("support.delivery_problem"), delivery_failed(1, 999_999)) == PROCESSED
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


# --- the carrier's failed delivery reaches customer service ---------------------------------------------

def failed_attempt(order) -> CarrierEvent:
    shipment = shipment_of(order)
    return CarrierEvent("fd-1", shipment.tracking_number, "failed_delivery", utcnow() - timedelta(minutes=5),
                        "London", "nobody home")


def test_a_failed_delivery_publishes_its_event_once(client):
    _, order = paid_order(client)
    book_shipment_for(order_paid(order))
    record_carrier_events("sandbox", [failed_attempt(order)], "webhook")
    record_carrier_events("sandbox", [failed_attempt(order)], "poll")
    published = db.session.scalars(select(OutboxEvent.payload).where(OutboxEvent.topic == "shipment.delivery_failed"))
    assert [(payload["order_id"], payload["status"]) for payload in published] == [(order["id"], "failed_delivery")]


def test_the_relay_opens_the_ticket_from_the_carriers_failed_delivery(client):
    _, order = paid_order(client)
    book_shipment_for(order_paid(order))
    record_carrier_events("sandbox", [failed_attempt(order)], "webhook")
    relay_outbox.apply()
    relay_outbox.apply()
    [ticket] = tickets_of(order["id"])
    assert ticket.category == "shipping"
