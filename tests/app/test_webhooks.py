"""Signed payment webhooks: signatures, secret rotation, time tolerance, replays."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from shop import create_app
from shop.extensions import db
from shop.outbox import OutboxEvent
from shop.payments.models import WebhookEvent
from shop.payments.sandbox import SandboxGateway
from shop.payments.webhooks import sign

from .factories import auth_headers, make_order, make_user
from .test_payments import pay

NEW_SECRET, OLD_SECRET = "whsec_test_new", "whsec_test_old"


@pytest.fixture
def awaiting(client):
    """An order whose payment awaits the bank's confirmation, and that payment's reference."""
    customer = make_user()
    order = make_order(customer)
    payment = pay(client, customer, order, card_number="4000000000003220").json["payment"]
    return customer, order, payment["gateway_reference"]


def deliver(client, body: bytes, signature: str | None):
    headers = {"Shop-Signature": signature} if signature is not None else {}
    return client.post("/api/v1/payments/webhook", data=body, headers=headers, content_type="application/json")


def event(reference: str, outcome: str = "succeeded", secret: str = NEW_SECRET, at: int | None = None):
    return SandboxGateway.confirmation_event(reference, outcome, secret, at or int(time.time()))


def order_status(client, customer, order) -> str:
    return client.get(f"/api/v1/orders/{order['id']}", headers=auth_headers(customer)).json["status"]


def test_a_signed_success_pays_the_order(client, awaiting):
    customer, order, reference = awaiting
    response = deliver(client, *event(reference))
    assert response.status_code == 200
    assert response.json == {"status": "applied"}
    detail = client.get(f"/api/v1/orders/{order['id']}", headers=auth_headers(customer)).json
    assert detail["status"] == "paid"
    assert detail["transitions"][-1]["cause"] == "payment confirmed"
    assert [p["status"] for p in detail["payments"]] == ["succeeded"]
    assert "order.paid" in db.session.scalars(select(OutboxEvent.topic)).all()


def test_a_signed_failure_leaves_the_order_pending(client, awaiting):
    customer, order, reference = awaiting
    assert deliver(client, *event(reference, "failed")).json == {"status": "applied"}
    detail = client.get(f"/api/v1/orders/{order['id']}", headers=auth_headers(customer)).json
    assert detail["status"] == "pending_payment"
    assert detail["payments"][0]["status"] == "failed"
    assert detail["payments"][0]["failure_reason"]


def test_the_old_secret_still_verifies_during_rotation(client, awaiting):
    customer, order, reference = awaiting
    assert deliver(client, *event(reference, secret=OLD_SECRET)).status_code == 200
    assert order_status(client, customer, order) == "paid"


def test_a_replayed_event_has_no_second_effect(client, awaiting):
    customer, order, reference = awaiting
    body, signature = event(reference)
    assert deliver(client, body, signature).json == {"status": "applied"}
    assert deliver(client, body, signature).json == {"status": "duplicate"}
    assert db.session.scalars(select(WebhookEvent.id)).all() == [json.loads(body)["id"]]
    assert db.session.scalars(select(OutboxEvent.topic)).all().count("order.paid") == 1


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda ref: event(ref, secret="whsec_someone_else"), "No signature matches"),
        (lambda ref: event(ref, at=int(time.time()) - 301), "old"),
        (lambda ref: event(ref, at=int(time.time()) + 301), "future"),
        (lambda ref: (event(ref)[0].replace(b"succeeded", b"failed"), event(ref)[1]), "No signature matches"),
        (lambda ref: (event(ref)[0], None), "missing"),
        (lambda ref: (event(ref)[0], "v1=abc"), "must look like"),
        (lambda ref: (event(ref)[0], "t=abc,v1=abc"), "must look like"),
    ],
)
def test_bad_signatures_are_refused_with_a_reason(client, awaiting, make, reason):
    customer, order, reference = awaiting
    response = deliver(client, *make(reference))
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert reason in response.json["detail"]
    assert order_status(client, customer, order) == "pending_payment"
    assert db.session.scalar(select(WebhookEvent.id)) is None


def test_the_tampered_body_is_checked_against_its_own_signature(client, awaiting):
    _, _, reference = awaiting
    body, _ = event(reference)
    timestamp = int(time.time())
    forged = body.replace(b"succeeded", b"failed")
    assert deliver(client, forged, sign(body, NEW_SECRET, timestamp)).status_code == 400
    assert deliver(client, forged, sign(forged, NEW_SECRET, timestamp)).status_code == 200


def test_signed_nonsense_is_a_clear_4xx(client):
    timestamp = int(time.time())
    for body, status in ((b"not json", 400), (b'{"id": "evt_1"}', 422)):
        response = deliver(client, body, sign(body, NEW_SECRET, timestamp))
        assert response.status_code == status


def test_events_for_unknown_payments_are_ignored(client):
    assert deliver(client, *event("ch_unknown")).json == {"status": "ignored"}


def test_a_confirmation_after_cancelling_is_refunded(client, awaiting):
    customer, order, reference = awaiting
    assert client.post(f"/api/v1/orders/{order['id']}/cancel", headers=auth_headers(customer)).status_code == 200
    assert deliver(client, *event(reference)).json == {"status": "applied"}
    detail = client.get(f"/api/v1/orders/{order['id']}", headers=auth_headers(customer)).json
    assert detail["status"] == "cancelled"
    assert detail["payments"][0]["status"] == "refunded"


def test_staff_get_the_sandbox_event_to_post(client, awaiting):
    customer, order, _ = awaiting
    payment_id = client.get(f"/api/v1/orders/{order['id']}", headers=auth_headers(customer)).json["payments"][0]["id"]
    staff = make_user(role="staff")
    signed = client.post(
        "/api/v1/payments/sandbox-events", json={"payment_id": payment_id}, headers=auth_headers(staff)
    )
    assert signed.status_code == 200
    response = deliver(client, signed.json["body"].encode(), signed.json["signature"])
    assert response.json == {"status": "applied"}
    assert order_status(client, customer, order) == "paid"
    assert (
        client.post(
            "/api/v1/payments/sandbox-events", json={"payment_id": payment_id}, headers=auth_headers(customer)
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/payments/sandbox-events", json={"payment_id": 10**12}, headers=auth_headers(staff)
        ).status_code
        == 422
    )
    assert (
        client.post(
            "/api/v1/payments/sandbox-events", json={"payment_id": 999}, headers=auth_headers(staff)
        ).status_code
        == 404
    )


@pytest.mark.parametrize("timestamp", ["١٢٣", "²", "1e9", "+5", "-5", "0x10", "1_000",
                                       pytest.param("9" * 5000, id="huge")])
def test_a_timestamp_that_is_not_a_plain_number_is_a_400_with_a_reason(client, awaiting, timestamp):
    _, _, reference = awaiting
    body, _ = event(reference)
    response = deliver(client, body, f"t={timestamp},v1={'0' * 64}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert "t=<unix time>" in response.json["detail"]
    assert response.json["field"] == "Shop-Signature"


def test_the_sandbox_settlement_is_not_signed_with_the_production_secrets(app, client, awaiting):
    customer, order, _ = awaiting
    payment_id = client.get(f"/api/v1/orders/{order['id']}", headers=auth_headers(customer)).json["payments"][0]["id"]
    signed = client.post("/api/v1/payments/sandbox-events", json={"payment_id": payment_id},
                         headers=auth_headers(make_user(role="staff"))).json
    timestamp = int(signed["signature"].split(",")[0].removeprefix("t="))
    body = signed["body"].encode()
    assert signed["signature"] == sign(body, app.config["SANDBOX_WEBHOOK_SECRET"], timestamp)
    production = [sign(body, secret, timestamp) for secret in app.config["PAYMENT_WEBHOOK_SECRETS"]]
    assert signed["signature"] not in production


@pytest.mark.parametrize(
    ("gateway", "production"), [("", False), ("acme", False), ("sandbox", True)], ids=["none", "acme", "production"]
)
def test_without_the_sandbox_gateway_there_are_no_sandbox_events(app, app_config, gateway, production):
    configured = create_app({**app_config, "PAYMENT_GATEWAY": gateway, "SHOP_PRODUCTION": production,
                             "SECRET_KEY": "a-production-secret-key-of-enough-length-0123456789",
                             "PAYMENT_WEBHOOK_SECRETS": ["a-production-webhook-secret-0123456789"],
                             "SANDBOX_WEBHOOK_SECRET": "a-production-sandbox-secret-0123456789",
                             "CARRIER_WEBHOOK_SECRETS": ["a-production-carrier-secret-0123456789"]})
    with configured.app_context():
        staff = make_user(role="staff")
        response = configured.test_client().post("/api/v1/payments/sandbox-events", json={"payment_id": 1},
                                          headers=auth_headers(staff))
        assert response.status_code == 404
        assert "/api/v1/payments/sandbox-events" not in {rule.rule for rule in configured.url_map.iter_rules()}
        db.session.remove()
        db.engine.dispose()


def test_without_the_sandbox_gateway_its_secret_does_not_verify(app, app_config):
    configured = create_app({**app_config, "PAYMENT_GATEWAY": "acme"})
    with configured.app_context():
        body, signature = event("ch_unknown", secret=configured.config["SANDBOX_WEBHOOK_SECRET"])
        response = deliver(configured.test_client(), body, signature)
        assert response.status_code == 400
        assert "No signature matches" in response.json["detail"]
        db.session.remove()
        db.engine.dispose()
