"""/metrics reports what the database says at scrape time (the release, and the counts on-call
alerts watch, which must stay at zero), and the revenue of orders paid, counted once committed."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from shop import create_app
from shop.columns import utcnow
from shop.extensions import db
from shop.models import Order
from shop.orders import service as orders
from shop.orders import states

from .factories import auth_headers, make_order, make_user

GOOD_CARD = {"card_number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}


def scrape(client) -> dict[str, float]:
    samples = {}
    for family in text_string_to_metric_families(client.get("/metrics").get_data(as_text=True)):
        for sample in family.samples:
            labels = ",".join(f'{key}="{value}"' for key, value in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def revenue(currency: str = "EUR") -> float:
    return REGISTRY.get_sample_value("shop_order_revenue_cents_total", {"currency": currency}) or 0.0


def test_metrics_name_the_release(app, client):
    assert scrape(client)[f'shop_release_info{{release="{app.config["SHOP_RELEASE"]}"}}'] == 1


def test_every_payment_outcome_is_a_series_at_zero_before_the_first_payment():
    """In a fresh process (this one's registry has counted other tests' payments)."""
    probe = ("from prometheus_client import REGISTRY; from shop import metrics; "
             "print([REGISTRY.get_sample_value('shop_payments_total', {'outcome': o}) "
             "for o in metrics.PAYMENT_OUTCOMES])")
    printed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert printed.strip() == "[0.0, 0.0, 0.0, 0.0]"


def test_nothing_overdue_in_a_healthy_shop(client):
    make_order(make_user())
    samples = scrape(client)
    assert samples["shop_orders_pending_payment_overdue"] == 0
    assert samples["shop_orders_paid_unshipped_overdue"] == 0
    assert samples["shop_products_negative_stock"] == 0


def test_an_order_past_its_reservation_is_counted_overdue(client):
    order = make_order(make_user())
    db.session.execute(update(Order).where(Order.id == order["id"])
                       .values(reserved_until=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    assert scrape(client)["shop_orders_pending_payment_overdue"] == 1


def test_a_paid_order_past_the_shipping_deadline_is_counted_overdue(app, client):
    order = make_order(make_user(), status=states.PAID)
    late = utcnow() - timedelta(seconds=app.config["ORDER_SHIPPING_DEADLINE_SECONDS"] + 60)
    db.session.execute(update(Order).where(Order.id == order["id"]).values(updated_at=late))
    db.session.commit()
    assert scrape(client)["shop_orders_paid_unshipped_overdue"] == 1


def test_a_paid_order_adds_its_total_to_revenue(client):
    customer = make_user()
    order = make_order(customer)
    before = revenue()
    response = client.post(f"/api/v1/orders/{order['id']}/payments", json=GOOD_CARD, headers=auth_headers(customer))
    assert response.status_code == 201, response.json
    assert revenue() - before == order["total_cents"]


def test_a_move_to_paid_that_rolls_back_adds_no_revenue(app):
    order_id = make_order(make_user())["id"]
    before = revenue()
    orders.apply_move(db.session.get(Order, order_id), states.PAID, "test", utcnow())
    db.session.rollback()
    assert revenue() == before


def test_metrics_answer_when_the_database_does_not(app_config):
    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                      "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}}})
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "shop_release_info" in body
    assert "shop_orders_pending_payment_overdue" not in body
