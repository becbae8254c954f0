"""Idempotency-Key on checkout and payment: replays, misuse, in-flight, scope, expiry, races."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select, update

from shop import idempotency
from shop.columns import utcnow
from shop.errors import Conflict
from shop.extensions import db
from shop.orders import service as orders_service
from shop.orders.models import IdempotencyRecord, Order
from shop.orders.schemas import NewOrder
from shop.payments import service as payments_service
from shop.payments.gateway import GatewayError
from shop.payments.models import Payment
from shop.payments.sandbox import SandboxGateway

from .factories import ADDRESS, auth_headers, make_cart, make_order, make_product, make_user
from .test_payments import GOOD_CARD


def order_count() -> int:
    return db.session.scalar(select(func.count(Order.id)))


def checkout(client, customer, cart_id, key, address=ADDRESS):
    return client.post(
        "/api/v1/orders",
        json={"cart_id": cart_id, "shipping_address": address},
        headers={**auth_headers(customer), "Idempotency-Key": key},
    )


def test_the_same_key_and_body_replay_the_first_answer(client):
    customer = make_user()
    cart_id = make_cart(customer, (make_product(), 1)).id
    first = checkout(client, customer, cart_id, "order-1")
    second = checkout(client, customer, cart_id, "order-1")
    assert first.status_code == second.status_code == 201
    assert second.json == first.json
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Location"] == first.headers["Location"]
    assert order_count() == 1


def test_a_refusal_is_replayed_too(client):
    customer = make_user()
    cart_id = make_cart(customer).id
    first = checkout(client, customer, cart_id, "empty")
    second = checkout(client, customer, cart_id, "empty")
    assert first.status_code == second.status_code == 422
    assert second.mimetype == "application/problem+json"
    assert second.json == first.json
    assert second.headers["Idempotent-Replayed"] == "true"


def test_the_same_key_with_another_body_is_422(client):
    customer = make_user()
    cart_id = make_cart(customer, (make_product(), 1)).id
    assert checkout(client, customer, cart_id, "k").status_code == 201
    response = checkout(client, customer, cart_id, "k", address={**ADDRESS, "city": "Paris"})
    assert response.status_code == 422
    assert response.json["field"] == "Idempotency-Key"


def test_the_same_key_while_the_first_is_in_flight_is_409(client):
    customer = make_user()
    cart_id = make_cart(customer, (make_product(), 1)).id
    body = NewOrder.model_validate({"cart_id": cart_id, "shipping_address": ADDRESS})
    # What the first request leaves behind while it is still being answered.
    db.session.add(
        IdempotencyRecord(
            customer_id=customer.id,
            key="busy",
            expires_at=utcnow() + timedelta(hours=1),
            request_fingerprint=idempotency.fingerprint(
                "test-secret", "POST", "/api/v1/orders", body.model_dump_json()
            ),
        )
    )
    db.session.commit()
    response = checkout(client, customer, cart_id, "busy")
    assert response.status_code == 409
    assert response.json["field"] == "Idempotency-Key"
    assert order_count() == 0


def test_keys_belong_to_one_customer(client):
    alice, bob = make_user(), make_user()
    alices = checkout(client, alice, make_cart(alice, (make_product(), 1)).id, "shared-key")
    bobs = checkout(client, bob, make_cart(bob, (make_product(), 1)).id, "shared-key")
    assert alices.status_code == bobs.status_code == 201
    assert "Idempotent-Replayed" not in bobs.headers
    assert alices.json["id"] != bobs.json["id"]


def test_an_expired_key_counts_as_new_and_is_purged(client, app):
    customer = make_user()
    product = make_product()
    first = checkout(client, customer, make_cart(customer, (product, 1)).id, "old")
    db.session.execute(update(IdempotencyRecord).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    # The key is free again: a different request may use it.
    second = checkout(client, customer, make_cart(customer, (product, 1)).id, "old")
    assert second.status_code == 201
    assert second.json["id"] != first.json["id"]
    db.session.execute(update(IdempotencyRecord).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert idempotency.purge_expired() == 1
    assert db.session.scalar(select(IdempotencyRecord.id)) is None


def test_records_live_for_the_configured_ttl(client, app):
    customer = make_user()
    checkout(client, customer, make_cart(customer, (make_product(), 1)).id, "ttl")
    record = db.session.scalar(select(IdempotencyRecord))
    assert record.expires_at - record.created_at == timedelta(seconds=app.config["IDEMPOTENCY_TTL_SECONDS"])


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_a_bad_key_is_400(client, key):
    customer = make_user()
    response = checkout(client, customer, make_cart(customer, (make_product(), 1)).id, key)
    assert response.status_code == 400
    assert response.json["field"] == "Idempotency-Key"


class TimesOutAfterCharging(SandboxGateway):
    """Charges, then loses the answer on the way back, once; works afterwards."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def charge(self, *args, **kwargs):
        self.calls += 1
        charge = super().charge(*args, **kwargs)
        if self.calls == 1:
            raise GatewayError("the gateway timed out")
        return charge


def test_a_5xx_forgets_the_key_and_the_retry_resumes_the_same_charge(app, client):
    customer = make_user()
    order = make_order(customer)
    app.extensions["payment_gateway"] = TimesOutAfterCharging()
    headers = {**auth_headers(customer), "Idempotency-Key": "pay-1"}
    first = client.post(f"/api/v1/orders/{order['id']}/payments", json=GOOD_CARD, headers=headers)
    assert first.status_code == 502
    assert db.session.scalar(select(IdempotencyRecord.id)) is None
    retry = client.post(f"/api/v1/orders/{order['id']}/payments", json=GOOD_CARD, headers=headers)
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry.headers
    assert len(SandboxGateway().entries("charge")) == 1
    assert db.session.scalar(select(func.count(Payment.id))) == 1


def test_a_failure_after_the_order_commits_replays_the_order(client, monkeypatch):
    customer = make_user()
    cart_id = make_cart(customer, (make_product(), 1)).id

    def cache_down(*_stock_changes):
        raise RuntimeError("the cache is down")

    monkeypatch.setattr(orders_service, "refresh_stock", cache_down)
    first = checkout(client, customer, cart_id, "after-commit")
    assert first.status_code == 500
    monkeypatch.undo()
    retry = checkout(client, customer, cart_id, "after-commit")
    assert retry.status_code == 201, retry.json
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert order_count() == 1


def test_a_failure_after_the_payment_commits_replays_the_payment(app, client, monkeypatch):
    customer = make_user()
    order = make_order(customer)
    headers = {**auth_headers(customer), "Idempotency-Key": "pay-after-commit"}

    def metrics_down(_status):
        raise RuntimeError("the metrics are down")

    monkeypatch.setattr(payments_service, "_count", metrics_down)
    first = client.post(f"/api/v1/orders/{order['id']}/payments", json=GOOD_CARD, headers=headers)
    assert first.status_code == 500
    monkeypatch.undo()
    retry = client.post(f"/api/v1/orders/{order['id']}/payments", json=GOOD_CARD, headers=headers)
    assert retry.status_code == 201, retry.json
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert len(SandboxGateway().entries("charge")) == 1


def claim_of_a_killed_request(app, customer, now):
    """What a worker killed while answering leaves: a claim with no answer."""
    config = app.config
    return idempotency._claim(customer.id, "killed", "fingerprint", config["IDEMPOTENCY_TTL_SECONDS"],
                              config["IDEMPOTENCY_LEASE_SECONDS"], now)


def answer_with(app, customer, now):
    config = app.config
    return idempotency.answer_once(customer.id, "killed", "fingerprint", config["IDEMPOTENCY_TTL_SECONDS"],
                                   config["IDEMPOTENCY_LEASE_SECONDS"], lambda: {"done": True},
                                   status_of=lambda _body: 201, now=now)


def test_a_killed_requests_key_is_in_progress_within_its_lease(app):
    customer, now = make_user(), utcnow()
    claim_of_a_killed_request(app, customer, now)
    lease = timedelta(seconds=app.config["IDEMPOTENCY_LEASE_SECONDS"])
    with pytest.raises(Conflict):
        answer_with(app, customer, now + lease - timedelta(seconds=1))


def test_a_killed_requests_key_is_taken_over_after_its_lease(app):
    customer, now = make_user(), utcnow()
    claim_of_a_killed_request(app, customer, now)
    lease = timedelta(seconds=app.config["IDEMPOTENCY_LEASE_SECONDS"])
    answer = answer_with(app, customer, now + lease + timedelta(seconds=1))
    assert (answer.status, answer.body, answer.replayed) == (201, {"done": True}, False)
    assert answer_with(app, customer, now + lease + timedelta(seconds=2)).replayed


def test_fifty_identical_checkouts_make_one_order(live_server, app):
    customer = make_user()
    cart_id = make_cart(customer, (make_product(stock=100), 1)).id
    headers = {**auth_headers(customer), "Idempotency-Key": "race-order"}

    def attempt(_):
        return requests.post(
            f"{live_server}/api/v1/orders",
            json={"cart_id": cart_id, "shipping_address": ADDRESS},
            headers=headers,
            timeout=30,
        )

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(attempt, range(50)))

    created = [response for response in responses if response.status_code == 201]
    assert {response.status_code for response in responses} <= {201, 409}
    assert len({response.json()["id"] for response in created}) == 1
    assert sum("Idempotent-Replayed" not in response.headers for response in created) == 1
    assert order_count() == 1


def test_fifty_identical_payments_make_one_charge(live_server, app):
    customer = make_user()
    order_id = make_order(customer)["id"]
    headers = {**auth_headers(customer), "Idempotency-Key": "race-pay"}

    def attempt(_):
        return requests.post(
            f"{live_server}/api/v1/orders/{order_id}/payments", json=GOOD_CARD, headers=headers, timeout=30
        )

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(attempt, range(50)))

    assert {response.status_code for response in responses} <= {201, 409}
    paid = [response.json() for response in responses if response.status_code == 201]
    assert len({body["payment"]["id"] for body in paid}) == 1
    assert db.session.scalar(select(func.count(Payment.id))) == 1
