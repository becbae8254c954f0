"""Paying orders through the gateway interface and its sandbox; refunds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from shop.catalog.models import Product
from shop.extensions import db
from shop.orders.models import IdempotencyRecord
from shop.outbox import OutboxEvent
from shop.payments.gateway import Card, CardRejected, luhn_valid
from shop.payments.models import Payment, Refund
from shop.payments.sandbox import SandboxGateway

from .factories import auth_headers, make_order, make_product, make_user

GOOD_CARD = {"card_number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}


def pay(client, customer, order, headers=None, **card):
    return client.post(
        f"/api/v1/orders/{order['id']}/payments",
        json={**GOOD_CARD, **card},
        headers={**auth_headers(customer), **(headers or {})},
    )


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4242424242424242", True),
        ("4000000000000002", True),
        ("4000000000003220", True),
        ("4000000000009995", True),
        ("5555555555554444", True),
        ("4242424242424241", False),
        ("1234567812345678", False),
    ],
)
def test_luhn(number, valid):
    assert luhn_valid(number) is valid


def test_the_sandbox_refuses_expired_cards(app):
    sandbox = SandboxGateway(clock=lambda: datetime(2030, 6, 15, tzinfo=UTC))
    with pytest.raises(CardRejected) as refused:
        sandbox.charge(100, "EUR", Card("4242424242424242", 5, 2030, "123"), "pay_1")
    assert refused.value.extra["field"] == "exp_year"
    assert sandbox.charge(100, "EUR", Card("4242424242424242", 6, 2030, "123"), "pay_1").status == "succeeded"


def test_the_sandbox_charges_a_key_once_and_answers_for_it(app):
    sandbox = SandboxGateway()
    assert sandbox.lookup("pay_1") is None
    first = sandbox.charge(100, "EUR", Card("4242424242424242", 12, 2099, "123"), "pay_1")
    again = sandbox.charge(100, "EUR", Card("4242424242424242", 12, 2099, "123"), "pay_1")
    assert again == first == sandbox.lookup("pay_1")
    assert len(sandbox.entries("charge")) == 1


def test_the_sandbox_refunds_a_key_once(app):
    sandbox = SandboxGateway()
    charge = sandbox.charge(100, "EUR", Card("4242424242424242", 12, 2099, "123"), "pay_1")
    first = sandbox.refund(charge.reference, 100, "EUR", "re_1")
    assert sandbox.refund(charge.reference, 100, "EUR", "re_1") == first
    assert len(sandbox.entries("refund")) == 1


def test_card_repr_hides_the_number_and_cvc():
    assert "4242" not in repr(Card("4242424242424242", 1, 2030, "987")) and "987" not in repr(
        Card("4242424242424242", 1, 2030, "987")
    )


def test_a_good_card_pays_the_order(client):
    customer = make_user()
    order = make_order(customer)
    response = pay(client, customer, order)
    assert response.status_code == 201, response.json
    payment = response.json["payment"]
    assert payment["status"] == "succeeded"
    assert payment["amount_cents"] == order["total_cents"]
    assert payment["card_last4"] == "4242"
    assert response.json["order"]["status"] == "paid"
    assert response.json["order"]["reserved_until"] is None
    assert response.json["order"]["transitions"][-1]["cause"] == "payment succeeded"
    topics = db.session.scalars(select(OutboxEvent.topic).order_by(OutboxEvent.id)).all()
    assert topics == ["order.created", "order.paid"]


@pytest.mark.parametrize(
    ("number", "reason"), [("4000000000000002", "card_declined"), ("4000000000009995", "insufficient_funds")]
)
def test_a_declined_card_leaves_the_order_pending(client, number, reason):
    customer = make_user()
    order = make_order(customer)
    response = pay(client, customer, order, card_number=number)
    assert response.status_code == 402
    assert response.mimetype == "application/problem+json"
    assert response.json["reason"].startswith(reason)
    detail = client.get(f"/api/v1/orders/{order['id']}", headers=auth_headers(customer)).json
    assert detail["status"] == "pending_payment"
    assert [p["status"] for p in detail["payments"]] == ["failed"]
    assert "payment.failed" in db.session.scalars(select(OutboxEvent.topic)).all()
    # Another card may still pay it.
    assert pay(client, customer, order).status_code == 201


def test_an_asynchronous_payment_waits_for_the_bank(client):
    customer = make_user()
    order = make_order(customer)
    response = pay(client, customer, order, card_number="4000000000003220")
    assert response.status_code == 202
    assert response.json["payment"]["status"] == "requires_confirmation"
    assert response.json["order"]["status"] == "pending_payment"
    second = pay(client, customer, order)
    assert second.status_code == 409
    assert "confirmation" in second.json["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"card_number": "4242424242424241"}, "card_number"),
        ({"card_number": "4242-4242-4242-4242"}, "card_number"),
        ({"card_number": "42424242424242424242424242"}, "card_number"),
        ({"card_number": 4242424242424242}, "card_number"),
        ({"exp_month": 13}, "exp_month"),
        ({"exp_year": 2020}, "exp_year"),
        ({"exp_year": 10**30}, "exp_year"),
        ({"cvc": "12a"}, "cvc"),
        ({"cvc": None}, "cvc"),
    ],
)
def test_bad_cards_are_422_naming_the_field(client, change, field):
    customer = make_user()
    order = make_order(customer)
    response = pay(client, customer, order, **change)
    assert response.status_code == 422
    assert response.json["field"] == field
    assert db.session.scalar(select(Payment.id)) is None


@pytest.mark.parametrize("status", ["paid", "cancelled", "shipped"])
def test_only_a_pending_order_can_be_paid(client, status):
    customer = make_user()
    order = make_order(customer, status=status)
    response = pay(client, customer, order)
    assert response.status_code == 409
    assert response.json["current_status"] == status


def test_someone_elses_order_cannot_be_paid(client):
    order = make_order(make_user())
    assert pay(client, make_user(), order).status_code == 404


def test_the_full_card_number_and_cvc_are_never_stored(client):
    customer = make_user()
    order = make_order(customer)
    assert pay(client, customer, order, headers={"Idempotency-Key": "k1"}, cvc="987").status_code == 201
    texts = [
        str(value)
        for model in (Payment, IdempotencyRecord, OutboxEvent)
        for row in db.session.execute(select(model.__table__))
        for value in row
        if isinstance(value, str | dict)
    ]
    assert not [text for text in texts if "4242424242424242" in text or '"cvc"' in text]
    assert not [column.name for column in Payment.__table__.columns if column.name in ("cvc", "card_number")]


def test_cancelling_a_paid_order_refunds_it_and_returns_stock(client):
    customer = make_user()
    product = make_product(stock=3)
    order = make_order(customer, (product, 2))
    pay(client, customer, order)
    response = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=auth_headers(customer))
    assert response.status_code == 200
    assert response.json["status"] == "cancelled"
    assert [p["status"] for p in response.json["payments"]] == ["refunded"]
    db.session.expire_all()
    assert db.session.get(Product, product.id).stock == 3


def test_a_refund_keeps_the_gateways_refund_reference(client):
    customer = make_user()
    order = make_order(customer)
    pay(client, customer, order)
    assert client.post(f"/api/v1/orders/{order['id']}/cancel", headers=auth_headers(customer)).status_code == 200
    [made] = SandboxGateway().entries("refund")
    assert db.session.scalars(select(Refund.gateway_reference)).all() == [made.reference]
    [event] = db.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "payment.refunded")).all()
    assert event.payload["refund_reference"] == made.reference


def test_staff_refund_a_shipped_order_without_restocking(client):
    customer, staff = make_user(), make_user(role="staff")
    product = make_product(stock=3)
    order = make_order(customer, (product, 2))
    pay(client, customer, order)
    client.post(
        f"/api/v1/orders/{order['id']}/transitions",
        json={"status": "shipped", "cause": "posted"},
        headers=auth_headers(staff),
    )
    response = client.post(
        f"/api/v1/orders/{order['id']}/refund", json={"cause": "arrived broken"}, headers=auth_headers(staff)
    )
    assert response.status_code == 200
    assert response.json["status"] == "refunded"
    assert response.json["transitions"][-1]["cause"] == "arrived broken"
    assert [p["status"] for p in response.json["payments"]] == ["refunded"]
    db.session.expire_all()
    assert db.session.get(Product, product.id).stock == 1
    assert "payment.refunded" in db.session.scalars(select(OutboxEvent.topic)).all()


def test_a_pending_order_cannot_be_refunded(client):
    order = make_order(make_user())
    response = client.post(
        f"/api/v1/orders/{order['id']}/refund", json={}, headers=auth_headers(make_user(role="staff"))
    )
    assert response.status_code == 409
    assert response.json["current_status"] == "pending_payment"


def payment_counts() -> tuple[float, float, float]:
    """(succeeded, failed, failed total) as the process's metrics count them now."""

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    return (
        sample("shop_payments_total", outcome="succeeded"),
        sample("shop_payments_total", outcome="failed"),
        sample("shop_payments_failed_total"),
    )


def test_payment_metrics_count_each_outcome_once(client):
    customer = make_user()
    before = payment_counts()
    pay(client, customer, make_order(customer), card_number="4000000000000002")
    pay(client, customer, make_order(customer))
    after = payment_counts()
    assert [now - then for now, then in zip(after, before, strict=True)] == [1, 1, 1]
    body = client.get("/metrics").get_data(as_text=True)
    assert 'shop_payments_total{outcome="succeeded"}' in body
    assert 'shop_payments_total{outcome="failed"}' in body
