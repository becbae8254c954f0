"""The sandbox confirms a charge that needs the bank's confirmation by itself, a few seconds
later, through the periodic task; the order page follows without a reload."""

from __future__ import annotations

from datetime import timedelta

from shop.columns import utcnow
from shop.extensions import db
from shop.models import Order
from shop.payments.service import confirm_due_sandbox_charges

from .factories import make_product, make_user
from .test_storefront_checkout import ADDRESS, CARD, add_to_cart, csrf, log_in

CONFIRMATION_CARD = {**CARD, "card_number": "4000 0000 0000 3220"}


def checkout_awaiting_confirmation(client) -> int:
    log_in(client, make_user())
    add_to_cart(client, make_product(stock=5).id)
    client.post("/checkout", data={**ADDRESS, **CONFIRMATION_CARD, "csrf_token": csrf(client, "/checkout")})
    return db.session.scalars(db.select(Order.id)).one()


def order_status(order_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Order, order_id).status


def test_the_sandbox_confirms_after_its_delay(client, app):
    order_id = checkout_awaiting_confirmation(client)
    gateway, delay = app.extensions["payment_gateway"], app.config["SANDBOX_CONFIRMATION_SECONDS"]
    assert confirm_due_sandbox_charges(gateway, delay, utcnow() + timedelta(seconds=delay - 1)) == 0
    assert order_status(order_id) == "pending_payment"
    assert confirm_due_sandbox_charges(gateway, delay, utcnow() + timedelta(seconds=delay + 1)) == 1
    assert order_status(order_id) == "paid"


def test_confirming_twice_confirms_once(client, app):
    checkout_awaiting_confirmation(client)
    gateway, later = app.extensions["payment_gateway"], utcnow() + timedelta(minutes=5)
    assert confirm_due_sandbox_charges(gateway, 5, later) == 1
    assert confirm_due_sandbox_charges(gateway, 5, later) == 0


def test_the_worker_confirms_sandbox_charges_every_few_seconds(app):
    schedule = app.extensions["celery"].conf.beat_schedule
    entry = next(entry for entry in schedule.values() if entry["task"] == "shop.tasks.confirm_sandbox_payments")
    assert entry["schedule"] <= app.config["SANDBOX_CONFIRMATION_SECONDS"]


def test_the_order_status_answers_json_for_the_page_to_follow(client):
    order_id = checkout_awaiting_confirmation(client)
    answer = client.get(f"/orders/{order_id}/status")
    assert answer.get_json() == {"status": "pending_payment", "awaiting_confirmation": True}


def test_the_order_page_follows_its_status_with_a_static_script(client):
    order_id = checkout_awaiting_confirmation(client)
    page = client.get(f"/orders/{order_id}").get_data(as_text=True)
    assert f'data-status-url="/orders/{order_id}/status"' in page
    assert '<script src="/static/order-status.js" defer></script>' in page
    script = client.get("/static/order-status.js")
    script.close()
    assert script.status_code == 200


def test_without_javascript_the_awaiting_order_page_reloads_itself(client):
    order_id = checkout_awaiting_confirmation(client)
    page = client.get(f"/orders/{order_id}").get_data(as_text=True)
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page


def test_a_reloaded_order_page_shows_the_banks_confirmation_once_due(client, app):
    app.config["SANDBOX_CONFIRMATION_SECONDS"] = 3600
    order_id = checkout_awaiting_confirmation(client)
    assert 'data-test="order-status">pending payment<' in client.get(f"/orders/{order_id}").get_data(as_text=True)
    app.config["SANDBOX_CONFIRMATION_SECONDS"] = 0  # the bank's moment has come
    page = client.get(f"/orders/{order_id}").get_data(as_text=True)
    assert 'data-test="order-status">paid<' in page and "http-equiv" not in page
