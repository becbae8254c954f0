"""The demo catalog `make run` seeds: big enough to browse, deterministic, and seeded once."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from shop.extensions import db
from shop.models import Category, Order, OrderLine, Product, User
from shop.seed import DEMO_CUSTOMER, DEMO_STAFF

# sha256 over every product's (sku, name, price, stock): the same catalog on every machine.
CATALOG_FINGERPRINT = "4f3ecc7d85db5a1a22281fec61bb7107d98c75cdf73fbb73a4832879ff87757a"


def fingerprint() -> str:
    rows = db.session.execute(select(Product.sku, Product.name, Product.price_cents, Product.stock)
                              .order_by(Product.sku)).all()
    return hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_demo_builds_a_browsable_catalog_once(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert f"{DEMO_STAFF[0]} / {DEMO_STAFF[1]}" in result.output
    assert count(Product) >= 500
    assert count(Category) >= 8
    assert db.session.scalar(select(func.count()).select_from(Product).where(
        Product.stock > 0, Product.price_cents > 0, Product.description != "")) >= 400
    assert count(Order) >= 1000
    assert count(OrderLine) > count(Order)  # baskets with several products: recommendations have data
    roles = dict(db.session.execute(select(User.email, User.role)).all())
    assert roles[DEMO_STAFF[0]] == "staff"
    assert roles[DEMO_CUSTOMER[0]] == "customer"
    assert fingerprint() == CATALOG_FINGERPRINT

    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0
    assert "keeping the existing data" in again.output
    assert count(Product) == 540


def test_a_seeded_order_is_priced_as_the_api_documents_it(client):
    from shop.orders.schemas import OrderOut
    from shop.seed import seed_demo

    from .factories import auth_headers

    seed_demo(products_per_category=3, orders=3, progress=lambda _message: None)
    customer = db.session.scalar(select(User).where(User.email == DEMO_CUSTOMER[0]))
    order_id = db.session.scalar(select(Order.id).order_by(Order.id))
    response = client.get(f"/api/v1/orders/{order_id}", headers=auth_headers(customer))
    assert response.status_code == 200
    order = OrderOut.model_validate(response.json)
    assert order.pricing.total_cents == order.total_cents
    assert [line.product_id for line in order.pricing.lines] == [line.product_id for line in order.lines]
