"""Checkout: a cart becomes an order atomically, its stock reserved, never oversold."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select

from shop.cart.models import Cart, Coupon
from shop.catalog.models import Product
from shop.extensions import db
from shop.orders.models import Order, OrderLine
from shop.outbox import OutboxEvent

from .factories import ADDRESS, auth_headers, make_cart, make_product, make_user
from .statements import statements_run


def checkout(client, customer, cart, address=None, headers=None):
    return client.post(
        "/api/v1/orders",
        json={"cart_id": cart.id, "shipping_address": address or ADDRESS},
        headers={**auth_headers(customer), **(headers or {})},
    )


def stock_of(product_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(select(Product.stock).where(Product.id == product_id))


def test_checkout_makes_an_order_and_reserves_stock(app, client):
    customer = make_user()
    boots, socks = make_product(price_cents=5000, stock=5), make_product(price_cents=500, stock=50)
    cart = make_cart(customer, (boots, 2), (socks, 3))

    response = checkout(client, customer, cart)

    assert response.status_code == 201, response.json
    order = response.json
    assert response.headers["Location"] == f"/api/v1/orders/{order['id']}"
    assert order["status"] == "pending_payment"
    assert order["currency"] == "EUR"
    assert [(line["product_id"], line["quantity"], line["unit_price_cents"]) for line in order["lines"]] == [
        (boots.id, 2, 5000),
        (socks.id, 3, 500),
    ]
    assert order["subtotal_cents"] == 11500
    assert order["total_cents"] == 11500 + 499 + 2400
    assert order["pricing"]["total_cents"] == order["total_cents"]
    assert order["pricing"]["lines"][0]["name"] == boots.name
    assert order["shipping_address"] == ADDRESS
    assert order["reserved_until"] > order["created_at"]
    assert order["transitions"] == [
        {"from_status": None, "to_status": "pending_payment", "cause": "checkout", "at": order["created_at"]}
    ]
    assert order["payments"] == []
    assert (stock_of(boots.id), stock_of(socks.id)) == (3, 47)
    assert db.session.get(Cart, cart.id).status == "checked_out"
    assert [e.topic for e in db.session.scalars(select(OutboxEvent))] == ["order.created"]


def test_a_checked_out_cart_cannot_be_ordered_again(client):
    customer = make_user()
    cart = make_cart(customer, (make_product(stock=5), 1))
    assert checkout(client, customer, cart).status_code == 201
    assert checkout(client, customer, cart).status_code == 404


def test_promotions_and_coupons_are_kept_on_the_order(client):
    customer = make_user()
    db.session.add(Coupon(code="TENOFF", kind="percent", percent=10, usage_limit=1))
    db.session.commit()
    product = make_product(price_cents=10000, stock=5)
    response = checkout(client, customer, make_cart(customer, (product, 1), coupon_code="TENOFF"))
    assert response.status_code == 201
    assert response.json["coupon_code"] == "TENOFF"
    assert response.json["discount_cents"] == 1000
    assert {"source": "coupon", "name": "TENOFF", "amount_cents": 1000} in response.json["pricing"]["discounts"]
    assert db.session.scalar(select(Coupon.times_used).where(Coupon.code == "TENOFF")) == 1


def test_a_used_up_coupon_is_not_applied(client):
    customer = make_user()
    db.session.add(Coupon(code="ONCE", kind="fixed", amount_cents=500, usage_limit=1, times_used=1))
    db.session.commit()
    response = checkout(client, customer, make_cart(customer, (make_product(stock=5), 1), coupon_code="ONCE"))
    assert response.status_code == 201
    assert response.json["coupon_code"] is None
    assert response.json["pricing"]["coupon"] == {
        "code": "ONCE",
        "applied": False,
        "reason": "coupon ONCE has been used up",
    }


def test_the_order_takes_the_current_price(client):
    customer = make_user()
    product = make_product(price_cents=1000, stock=5)
    cart = make_cart(customer, (product, 1))
    product.price_cents = 1500  # repriced after the customer looked at the cart
    db.session.commit()
    response = checkout(client, customer, cart)
    assert response.status_code == 201
    assert response.json["lines"][0]["unit_price_cents"] == 1500
    assert response.json["subtotal_cents"] == 1500


def test_stock_that_ran_out_is_a_409_naming_the_product(client):
    customer = make_user()
    scarce, plenty = make_product(name="Scarce Scarf", stock=5), make_product(stock=50)
    cart = make_cart(customer, (plenty, 1), (scarce, 3))
    scarce.stock = 2
    db.session.commit()

    response = checkout(client, customer, cart)

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert response.json["product_id"] == scarce.id
    assert response.json["available"] == 2
    assert "Scarce Scarf" in response.json["detail"]
    # Nothing of the failed checkout stays: stock, cart and orders as they were.
    assert (stock_of(scarce.id), stock_of(plenty.id)) == (2, 50)
    assert db.session.get(Cart, cart.id).status == "open"
    assert db.session.scalar(select(Order.id)) is None


def test_an_empty_cart_is_422(client):
    customer = make_user()
    response = checkout(client, customer, make_cart(customer))
    assert response.status_code == 422
    assert response.json["field"] == "cart_id"


def test_someone_elses_cart_is_404(client):
    owner, other = make_user(), make_user()
    response = checkout(client, other, make_cart(owner, (make_product(), 1)))
    assert response.status_code == 404


def test_a_guest_cart_can_be_checked_out_by_whoever_holds_it(client):
    customer = make_user()
    response = checkout(client, customer, make_cart(None, (make_product(), 1)))
    assert response.status_code == 201
    assert response.json["customer_id"] == customer.id


def test_checkout_needs_a_login(client):
    cart = make_cart(None, (make_product(), 1))
    response = client.post("/api/v1/orders", json={"cart_id": cart.id, "shipping_address": ADDRESS})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cart_id": "no-such-cart"}, None),
        ({"shipping_address": {k: v for k, v in ADDRESS.items() if k != "city"}}, "shipping_address.city"),
        ({"shipping_address": {**ADDRESS, "country": "GBR"}}, "shipping_address.country"),
        ({"shipping_address": {**ADDRESS, "country": "1X"}}, "shipping_address.country"),
        ({"shipping_address": {**ADDRESS, "name": ""}}, "shipping_address.name"),
        ({"shipping_address": "10 Downing Street"}, "shipping_address"),
        ({"cart_id": 12345}, "cart_id"),
        ({"cart_id": "x" * 1000}, "cart_id"),
        ({"gift_wrap": True}, "gift_wrap"),
    ],
)
def test_bad_checkout_input_is_a_clear_4xx(client, change, field):
    customer = make_user()
    cart = make_cart(customer, (make_product(), 1))
    response = client.post(
        "/api/v1/orders",
        json={"cart_id": cart.id, "shipping_address": ADDRESS, **change},
        headers=auth_headers(customer),
    )
    assert response.mimetype == "application/problem+json"
    if field is None:
        assert response.status_code == 404
    else:
        assert response.status_code == 422
        assert response.json["field"] == field


def test_concurrent_checkouts_never_oversell(live_server, app):
    """Thirty customers race for five units over real HTTP: five orders, twenty-five 409s."""
    product = make_product(name="Limited Lamp", stock=5)
    customers = [make_user() for _ in range(30)]
    requests_to_send = [(auth_headers(customer), make_cart(customer, (product, 1)).id) for customer in customers]

    def attempt(args):
        headers, cart_id = args
        return requests.post(
            f"{live_server}/api/v1/orders",
            json={"cart_id": cart_id, "shipping_address": ADDRESS},
            headers=headers,
            timeout=30,
        )

    with ThreadPoolExecutor(max_workers=30) as pool:
        responses = list(pool.map(attempt, requests_to_send))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 5 + [409] * 25
    refusals = [response.json() for response in responses if response.status_code == 409]
    assert all(refusal["product_id"] == product.id and refusal["available"] == 0 for refusal in refusals)
    assert stock_of(product.id) == 0
    assert db.session.scalar(select(OrderLine.quantity).where(OrderLine.product_id == product.id).limit(1)) == 1
    assert len(db.session.scalars(select(Order.id)).all()) == 5


def test_concurrent_checkouts_of_one_cart_make_one_order(live_server, app):
    customer = make_user()
    cart_id = make_cart(customer, (make_product(stock=100), 1)).id
    headers = auth_headers(customer)

    def attempt(_):
        return requests.post(
            f"{live_server}/api/v1/orders",
            json={"cart_id": cart_id, "shipping_address": ADDRESS},
            headers=headers,
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(attempt, range(10)))
    assert statuses.count(201) == 1
    assert set(statuses) <= {201, 404, 409}
    assert len(db.session.scalars(select(Order.id)).all()) == 1


def test_checkout_runs_the_same_few_queries_for_1_or_20_lines(app, client):
    customer = make_user()
    db.session.add(Coupon(code="FIVE", kind="fixed", amount_cents=500, usage_limit=100))
    db.session.commit()
    headers = auth_headers(customer)

    def statements_for(line_count: int) -> list[str]:
        cart_id = make_cart(customer, *[(make_product(stock=10), 1) for _ in range(line_count)], coupon_code="FIVE").id
        # What runs after the answer (the outbox relay's own queries) is not checkout's.
        with statements_run(app) as statements:
            response = client.post(
                "/api/v1/orders", json={"cart_id": cart_id, "shipping_address": ADDRESS}, headers=headers
            )
        assert response.status_code == 201
        assert len(response.json["lines"]) == line_count
        return statements

    one, twenty = statements_for(1), statements_for(20)
    # user, cart, lines, promotions, coupon; claim cart, order, lines, transition, outbox, stock, coupon use
    assert len(one) == len(twenty) <= 12, "\n".join(twenty)


def test_stock_taken_and_given_back_says_which_products_sold_out_and_came_back(app, client):
    from shop.orders.service import _reserve_stock, _return_stock

    last, plenty = make_product(stock=1), make_product(stock=10)
    customer = make_user()
    cart_id = make_cart(customer, (last, 1), (plenty, 1)).id
    response = client.post("/api/v1/orders", json={"cart_id": cart_id, "shipping_address": ADDRESS},
                           headers=auth_headers(customer))
    assert response.status_code == 201
    assert _return_stock([response.json["id"]]) == {last.id: True, plenty.id: False}
    assert _reserve_stock([(last.id, 1, last.price_cents), (plenty.id, 2, plenty.price_cents)]) == {
        last.id: 0, plenty.id: 8}


def test_a_price_change_during_checkout_takes_nothing(app):
    from shop.orders.service import _reserve_stock, _shortfall

    product = make_product(name="Moving Target", price_cents=1000, stock=5)
    assert _reserve_stock([(product.id, 1, 900)]) == {}
    db.session.rollback()
    refusal = _shortfall([(product.id, 1, 900)])
    assert refusal.status == 409
    assert refusal.extra["price_cents"] == 1000
    assert stock_of(product.id) == 5


def test_a_coupon_limit_holds_under_concurrent_checkouts(live_server, app):
    db.session.add(Coupon(code="FIRSTONLY", kind="fixed", amount_cents=100, usage_limit=1))
    db.session.commit()
    product = make_product(stock=100)
    customers = [make_user() for _ in range(20)]
    attempts = [(auth_headers(c), make_cart(c, (product, 1), coupon_code="FIRSTONLY").id) for c in customers]

    def attempt(args):
        headers, cart_id = args
        return requests.post(f"{live_server}/api/v1/orders", json={"cart_id": cart_id, "shipping_address": ADDRESS},
                             headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(attempt, attempts))
    assert set(statuses) <= {201, 409}
    db.session.expire_all()
    assert db.session.scalar(select(Coupon.times_used).where(Coupon.code == "FIRSTONLY")) == 1
    assert len(db.session.scalars(select(Order.id).where(Order.coupon_code == "FIRSTONLY")).all()) == 1
