"""The logistics API and pages: an order's shipment (its owner's or staff's), public tracking by
tracking number and postal code, signed carrier webhooks, the order page's timeline and /track."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from shop.extensions import db
from shop.logistics.carrier import CarrierEvent
from shop.logistics.consumers import book_shipment_for
from shop.logistics.models import ShipmentEvent
from shop.logistics.sandbox import SANDBOX_ADDRESSES, SandboxCarrier, scenario_of
from shop.logistics.schemas import ShipmentOut
from shop.logistics.tracking import record_carrier_events
from shop.payments.webhooks import sign

from .factories import auth_headers, make_user
from .test_logistics import (
    BOOKED,
    COLLECTED,
    JOURNEY_OVER,
    order_paid,
    order_status,
    paid_order,
    push_until,
    shipment_of,
)
from .test_logistics import sandbox_clock as sandbox_clock  # noqa: F401 - the sandbox books at BOOKED
from .test_storefront_checkout import log_in

NEW_SECRET, OLD_SECRET = "whsec_test_carrier_new", "whsec_test_carrier_old"


@pytest.fixture
def shipped(client):
    """A paid order booked with the sandbox carrier: (its customer, the order, its tracking number)."""
    customer, order = paid_order(client)
    book_shipment_for(order_paid(order))
    return customer, order, shipment_of(order).tracking_number


# --- an order's shipment ---------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "status"), [("owner", 200), ("staff", 200), ("stranger", 404), ("anonymous", 401)])
def test_an_orders_shipment_is_shown_to_its_owner_and_staff_only(client, shipped, who, status):
    customer, order, _ = shipped
    headers = {"owner": auth_headers(customer), "staff": auth_headers(make_user("staff")),
               "stranger": auth_headers(make_user()), "anonymous": {}}[who]
    assert client.get(f"/api/v1/orders/{order['id']}/shipment", headers=headers).status_code == status


def test_the_shipment_shows_route_eta_and_timeline(client, shipped):
    customer, order, tracking = shipped
    push_until(order, COLLECTED)
    answer = client.get(f"/api/v1/orders/{order['id']}/shipment", headers=auth_headers(customer)).json
    assert answer["tracking_number"] == tracking
    assert (answer["carrier"], answer["status"], answer["route"]) == ("sandbox", "in_transit", ["DIR", "LON"])
    assert answer["eta"] == (BOOKED + timedelta(hours=6 + 3 + 8)).isoformat()
    assert [event["status"] for event in answer["events"]] == ["label_created", "picked_up", "in_transit"]
    assert answer["events"][1] == {"status": "picked_up", "at": (BOOKED + COLLECTED).isoformat(),
                                   "location": "Daventry (warehouse)", "detail": "Picked up at the warehouse"}


def test_the_shipment_answer_is_what_the_openapi_document_says(client, shipped):
    customer, order, _ = shipped
    push_until(order, JOURNEY_OVER)
    answer = client.get(f"/api/v1/orders/{order['id']}/shipment", headers=auth_headers(customer)).json
    assert ShipmentOut.model_validate(answer).status == "delivered"
    document = client.get("/api/v1/openapi.json").json
    shown = document["paths"]["/api/v1/orders/{order_id}/shipment"]["get"]["responses"]["200"]
    assert shown["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ShipmentOut"}


def test_an_order_not_yet_booked_has_no_shipment(client):
    customer, order = paid_order(client)
    response = client.get(f"/api/v1/orders/{order['id']}/shipment", headers=auth_headers(customer))
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"


# --- public tracking ----------------------------------------------------------------------------------

@pytest.mark.parametrize("postal_code", ["SW1Y 4JH", "sw1y4jh", " SW1Y  4JH "])
def test_anyone_with_the_tracking_number_and_postal_code_sees_the_timeline(client, shipped, postal_code):
    _, order, tracking = shipped
    response = client.get(f"/api/v1/shipments/{tracking}", query_string={"postal_code": postal_code})
    assert response.status_code == 200
    assert response.json["tracking_number"] == tracking


@pytest.mark.parametrize(("tracking", "postal_code"), [(None, "SW1Y 4JA"), ("SBX000000000000", "SW1Y 4JH"),
                                                       ("X" * 300, "SW1Y 4JH")],
                         ids=["wrong-postal-code", "unknown-tracking-number", "overlong-tracking-number"])
def test_a_wrong_tracking_number_or_postal_code_is_not_found(client, shipped, tracking, postal_code):
    response = client.get(f"/api/v1/shipments/{tracking or shipped[2]}", query_string={"postal_code": postal_code})
    assert response.status_code == 404
    assert response.json["detail"] == "Shipment does not exist"


def test_tracking_needs_the_postal_code(client, shipped):
    response = client.get(f"/api/v1/shipments/{shipped[2]}")
    assert response.status_code == 422
    assert response.json["field"] == "postal_code"


def test_guessing_parcels_is_rate_limited_but_a_recipient_checking_again_is_not(client, shipped):
    current_app.config["RATE_LIMIT_TRACKING_PER_ADDRESS"] = "3 per hour"
    tracking = shipped[2]
    for _ in range(5):
        assert client.get(f"/api/v1/shipments/{tracking}?postal_code=SW1Y 4JH").status_code == 200
    for _ in range(3):
        assert client.get(f"/api/v1/shipments/{tracking}?postal_code=N1 9GU").status_code == 404
    refused = client.get(f"/api/v1/shipments/{tracking}?postal_code=N1 9GU")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    # The storefront's tracking page counts with the API: it cannot be used to go on guessing.
    assert client.get(f"/track?tracking_number={tracking}&postal_code=E1 6AN").status_code == 429


# --- carrier webhooks -----------------------------------------------------------------------------------

def event_body(tracking: str, status: str = "picked_up", event_id: str = "evt-1", **fields) -> bytes:
    return json.dumps({"id": event_id, "tracking_number": tracking, "status": status,
                       "at": (BOOKED + COLLECTED).isoformat(), "location": "Daventry (warehouse)", **fields}).encode()


def deliver(client, body: bytes, secret: str = NEW_SECRET, at: int | None = None, carrier: str = "sandbox"):
    signature = sign(body, secret, at or int(time.time()))
    return client.post(f"/api/v1/carriers/{carrier}/webhook", data=body, content_type="application/json",
                       headers={"Shop-Signature": signature})


def test_a_signed_carrier_event_moves_the_shipment_and_the_order(client, shipped):
    _, order, tracking = shipped
    response = deliver(client, event_body(tracking))
    assert response.status_code == 200
    assert response.json == {"status": "applied"}
    assert shipment_of(order).status == "picked_up"
    assert order_status(order) == "shipped"


def test_the_old_carrier_secret_still_verifies_during_rotation(client, shipped):
    assert deliver(client, event_body(shipped[2]), secret=OLD_SECRET).json == {"status": "applied"}


def test_a_replayed_carrier_event_is_a_duplicate(client, shipped):
    body = event_body(shipped[2])
    assert deliver(client, body).json == {"status": "applied"}
    assert deliver(client, body).json == {"status": "duplicate"}
    assert len(db.session.scalars(select(ShipmentEvent)).all()) == 1


@pytest.mark.parametrize(("secret", "age"), [("whsec_forged", 0), (NEW_SECRET, 301), (NEW_SECRET, -301)],
                         ids=["forged", "too-old", "from-the-future"])
def test_a_badly_signed_carrier_event_is_refused(client, shipped, secret, age):
    response = deliver(client, event_body(shipped[2]), secret=secret, at=int(time.time()) - age)
    assert response.status_code == 400
    assert response.json["field"] == "Shop-Signature"
    assert shipment_of(shipped[1]).status == "label_created"


def test_an_unsigned_carrier_event_is_refused(client, shipped):
    response = client.post("/api/v1/carriers/sandbox/webhook", data=event_body(shipped[2]),
                           content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize(("body", "field"), [
    (b"{not json", "body"),
    (json.dumps({"id": "e", "tracking_number": "T", "status": "teleported", "at": "2026-03-02T10:00:00Z"}).encode(),
     "status"),
    (json.dumps({"id": "e", "tracking_number": "T", "status": "delivered", "at": "2026-03-02T10:00:00"}).encode(),
     "at"),
], ids=["malformed", "unknown-status", "time-without-zone"])
def test_a_signed_but_invalid_carrier_event_names_what_is_wrong(client, shipped, body, field):
    response = deliver(client, body)
    assert response.status_code in (400, 422)
    assert response.json["field"] == field


def test_a_carrier_the_shop_does_not_use_has_no_webhook(client, shipped):
    assert deliver(client, event_body(shipped[2]), carrier="acme").status_code == 404


# --- pages ------------------------------------------------------------------------------------------------

def test_the_order_page_shows_the_shipments_timeline_route_and_eta(client, shipped):
    customer, order, tracking = shipped
    push_until(order, JOURNEY_OVER)
    log_in(client, customer)
    page = client.get(f"/orders/{order['id']}").get_data(as_text=True)
    assert f'data-test="tracking-number">{tracking}<' in page
    assert 'data-test="shipment-status">delivered<' in page
    assert "DIR → LON" in page
    assert page.count("<li>") >= 6
    assert "Delivered" in page


def test_the_tracking_page_shows_the_timeline_to_whoever_knows_both(client, shipped):
    _, order, tracking = shipped
    push_until(order, COLLECTED)
    page = client.get("/track", query_string={"tracking_number": tracking, "postal_code": "SW1Y 4JH"})
    assert page.status_code == 200
    assert 'data-test="shipment-status">in transit<' in page.get_data(as_text=True)


def test_the_tracking_page_says_when_nothing_matches(client, shipped):
    page = client.get("/track", query_string={"tracking_number": shipped[2], "postal_code": "E1 6AN"})
    assert page.status_code == 404
    assert 'data-test="track-problem"' in page.get_data(as_text=True)
    assert "shipment-status" not in page.get_data(as_text=True)


def test_the_tracking_page_starts_as_an_empty_form(client):
    page = client.get("/track")
    assert page.status_code == 200
    assert 'data-test="track-form"' in page.get_data(as_text=True)


def test_a_late_poll_of_an_earlier_event_keeps_the_page_in_order(client, shipped):
    _, order, tracking = shipped
    push_until(order, JOURNEY_OVER)
    early = CarrierEvent("late-1", tracking, "in_transit", BOOKED + COLLECTED + timedelta(hours=1), "London")
    record_carrier_events("sandbox", [early], "poll")
    answer = client.get(f"/api/v1/shipments/{tracking}?postal_code=SW1Y4JH").json
    assert answer["status"] == "delivered"
    assert answer["events"][-1]["status"] == "delivered"


def test_the_sandbox_documents_its_test_addresses():
    assert {scenario_of({"line1": f"1 {marker.title()}"}) for marker in SANDBOX_ADDRESSES} == {
        "failed_delivery", "address_issue", "returned_to_sender", "delayed"}
    assert scenario_of({"line1": "12 St James's Square"}) is None
    assert SandboxCarrier.pushes_events
