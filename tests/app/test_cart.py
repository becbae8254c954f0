"""The cart API: guest and customer carts, pricing in the response, and no lost updates."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests

from shop.cart.models import Coupon, Promotion
from shop.columns import utcnow
from shop.extensions import db

from .factories import auth_headers, make_cart, make_product, make_user
from .statements import statements_run


def new_cart(client, headers=None) -> dict:
    response = client.post("/api/v1/carts", headers=headers or {})
    assert response.status_code == 201
    return response.json


def test_new_cart_is_empty_and_priced(client):
    cart = new_cart(client)
    assert cart["lines"] == []
    assert cart["total_cents"] == 0
    assert cart["currency"] == "EUR"
    assert len(cart["id"]) == 32


def test_add_items_prices_the_cart(client):
    product = make_product(price_cents=1250, stock=10)
    cart = new_cart(client)
    response = client.post(f"/api/v1/carts/{cart['id']}/items", json={"product_id": product.id, "quantity": 2})
    assert response.status_code == 200
    body = response.json
    assert body["lines"][0] == {
        "product_id": product.id,
        "name": product.name,
        "unit_price_cents": 1250,
        "quantity": 2,
        "subtotal_cents": 2500,
        "discount_cents": 0,
        "total_cents": 2500,
        "discounts": [],
    }
    assert body["subtotal_cents"] == 2500
    assert body["shipping_cents"] == 499
    assert body["total_cents"] == 2500 + 499 + 600
    assert response.headers["ETag"] == f'"{body["version"]}"'


def test_adding_the_same_product_twice_adds_up(client):
    product = make_product(stock=10)
    cart = new_cart(client)
    for _ in range(2):
        client.post(f"/api/v1/carts/{cart['id']}/items", json={"product_id": product.id, "quantity": 3})
    assert client.get(f"/api/v1/carts/{cart['id']}").json["lines"][0]["quantity"] == 6


def test_change_and_remove_lines(client):
    first, second = make_product(stock=10), make_product(stock=10)
    cart_id = new_cart(client)["id"]
    for product in (first, second):
        client.post(f"/api/v1/carts/{cart_id}/items", json={"product_id": product.id})
    changed = client.patch(f"/api/v1/carts/{cart_id}/items/{first.id}", json={"quantity": 4})
    assert changed.json["lines"][0]["quantity"] == 4
    removed = client.delete(f"/api/v1/carts/{cart_id}/items/{second.id}")
    assert [line["product_id"] for line in removed.json["lines"]] == [first.id]
    assert client.delete(f"/api/v1/carts/{cart_id}/items/{second.id}").status_code == 404


def test_changing_a_line_beyond_the_line_limit_is_refused(client, app):
    app.config["MAX_LINE_QUANTITY"] = 5
    product = make_product(stock=100)
    cart_id = new_cart(client)["id"]
    client.post(f"/api/v1/carts/{cart_id}/items", json={"product_id": product.id, "quantity": 2})
    response = client.patch(f"/api/v1/carts/{cart_id}/items/{product.id}", json={"quantity": 50})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["field"] == "quantity"
    assert "at most 5" in response.json["detail"]
    assert client.get(f"/api/v1/carts/{cart_id}").json["lines"][0]["quantity"] == 2


def test_changing_a_line_up_to_the_line_limit_is_accepted(client, app):
    app.config["MAX_LINE_QUANTITY"] = 5
    product = make_product(stock=100)
    cart_id = new_cart(client)["id"]
    client.post(f"/api/v1/carts/{cart_id}/items", json={"product_id": product.id})
    response = client.patch(f"/api/v1/carts/{cart_id}/items/{product.id}", json={"quantity": 5})
    assert response.status_code == 200
    assert response.json["lines"][0]["quantity"] == 5


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"product_id": 1, "quantity": 0}, 422, "quantity"),
        ({"product_id": 1, "quantity": -3}, 422, "quantity"),
        ({"product_id": 1, "quantity": 10**12}, 422, "quantity"),
        ({"product_id": 1, "quantity": "2"}, 422, "quantity"),
        ({"product_id": 1, "quantity": 1.5}, 422, "quantity"),
        ({"product_id": "one"}, 422, "product_id"),
        ({"product_id": 999999}, 422, "product_id"),
        ({"quantity": 1}, 422, "product_id"),
        ({"product_id": 1, "colour": "red"}, 422, "colour"),
    ],
)
def test_bad_items_are_refused_with_a_reason(client, payload, status, field):
    make_product(stock=10)
    cart_id = new_cart(client)["id"]
    response = client.post(f"/api/v1/carts/{cart_id}/items", json=payload)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.json["field"] == field
    assert client.get(f"/api/v1/carts/{cart_id}").json["lines"] == []


def test_more_than_in_stock_is_a_conflict(client):
    product = make_product(stock=2)
    cart_id = new_cart(client)["id"]
    response = client.post(f"/api/v1/carts/{cart_id}/items", json={"product_id": product.id, "quantity": 3})
    assert response.status_code == 409
    assert response.json["available"] == 2


def test_promotion_and_coupon_are_explained(client):
    product = make_product(price_cents=2000, stock=10)
    db.session.add_all(
        [
            Promotion(name="Buy 2 get 1", kind="buy_x_get_y", product_id=product.id, buy_quantity=2, free_quantity=1),
            Coupon(code="FIVEOFF", kind="fixed", amount_cents=500),
        ]
    )
    db.session.commit()
    cart_id = new_cart(client)["id"]
    client.post(f"/api/v1/carts/{cart_id}/items", json={"product_id": product.id, "quantity": 3})
    body = client.put(f"/api/v1/carts/{cart_id}/coupon", json={"code": "fiveoff"}).json
    assert body["coupon"] == {"code": "FIVEOFF", "applied": True, "reason": None}
    # A fixed-amount coupon leaves shipping charged: exactly these two discounts.
    assert [(d["source"], d["name"], d["amount_cents"]) for d in body["discounts"]] == [
        ("promotion", "Buy 2 get 1", 2000),
        ("coupon", "FIVEOFF", 500),
    ]
    assert body["discount_cents"] == 2500
    assert body["shipping_cents"] == 499
    # Tax (20 %) on the discounted goods and shipping: (6000 - 2500 + 499) * 0.2 = 799.8, rounded.
    assert body["tax_cents"] == 800
    assert body["total_cents"] == 6000 - 2500 + 499 + 800
    removed = client.delete(f"/api/v1/carts/{cart_id}/coupon").json
    assert removed["coupon"] is None
    assert removed["discount_cents"] == 2000


def test_an_expired_coupon_stays_on_the_cart_but_says_why_it_does_not_apply(client):
    product = make_product(price_cents=2000, stock=10)
    db.session.add(Coupon(code="OLD", kind="percent", percent=10, ends_at=utcnow() - timedelta(days=1)))
    db.session.commit()
    cart_id = new_cart(client)["id"]
    client.post(f"/api/v1/carts/{cart_id}/items", json={"product_id": product.id})
    body = client.put(f"/api/v1/carts/{cart_id}/coupon", json={"code": "OLD"}).json
    assert body["coupon"]["applied"] is False
    assert "expired" in body["coupon"]["reason"]
    assert body["discount_cents"] == 0


def test_unknown_coupon_is_refused(client):
    cart_id = new_cart(client)["id"]
    response = client.put(f"/api/v1/carts/{cart_id}/coupon", json={"code": "NOPE"})
    assert response.status_code == 422
    assert response.json["field"] == "code"


def test_stale_if_match_is_412_and_changes_nothing(client):
    product = make_product(stock=10)
    cart = new_cart(client)
    stale = f'"{cart["version"]}"'
    client.post(f"/api/v1/carts/{cart['id']}/items", json={"product_id": product.id}, headers={"If-Match": stale})
    response = client.post(
        f"/api/v1/carts/{cart['id']}/items", json={"product_id": product.id}, headers={"If-Match": stale}
    )
    assert response.status_code == 412
    assert response.json["current_version"] == cart["version"] + 1
    assert client.get(f"/api/v1/carts/{cart['id']}").json["lines"][0]["quantity"] == 1


def test_malformed_if_match_is_400(client):
    cart_id = new_cart(client)["id"]
    response = client.delete(f"/api/v1/carts/{cart_id}/coupon", headers={"If-Match": "yesterday"})
    assert response.status_code == 400


def test_customer_cart_is_invisible_to_others(client):
    owner, stranger = make_user(), make_user()
    cart_id = new_cart(client, auth_headers(owner))["id"]
    assert client.get(f"/api/v1/carts/{cart_id}", headers=auth_headers(owner)).status_code == 200
    assert client.get(f"/api/v1/carts/{cart_id}", headers=auth_headers(stranger)).status_code == 404
    assert client.get(f"/api/v1/carts/{cart_id}").status_code == 404


def test_guest_cart_merges_into_the_customer_cart_at_login(client, app):
    product, other = make_product(stock=10), make_product(stock=10)
    user = make_user()
    own_id = new_cart(client, auth_headers(user))["id"]
    client.post(f"/api/v1/carts/{own_id}/items", json={"product_id": product.id}, headers=auth_headers(user))
    guest_id = new_cart(app.test_client())["id"]
    client.post(f"/api/v1/carts/{guest_id}/items", json={"product_id": other.id, "quantity": 2})
    from .factories import PASSWORD

    login = client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}, headers={"X-Cart-Id": guest_id}
    )
    assert login.status_code == 200
    merged = client.get(f"/api/v1/carts/{own_id}", headers=auth_headers(user)).json
    assert {line["product_id"]: line["quantity"] for line in merged["lines"]} == {product.id: 1, other.id: 2}
    assert client.get(f"/api/v1/carts/{guest_id}").status_code == 404


def test_concurrent_adds_are_never_lost(live_server):
    """Twenty real concurrent requests, no If-Match: every one of them lands."""
    product_id = make_product(stock=1000).id
    cart_id = requests.post(f"{live_server}/api/v1/carts", timeout=10).json()["id"]

    def add(_):
        return requests.post(
            f"{live_server}/api/v1/carts/{cart_id}/items", json={"product_id": product_id, "quantity": 1}, timeout=30
        ).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(add, range(20)))
    assert statuses == [200] * 20
    cart = requests.get(f"{live_server}/api/v1/carts/{cart_id}", timeout=10).json()
    assert cart["lines"][0]["quantity"] == 20
    assert cart["version"] == 21


def test_concurrent_updates_with_the_same_if_match_one_wins(live_server):
    """Two clients edit from the same version: one succeeds, the other is told (412), none is lost."""
    first_id, second_id = make_product(stock=10).id, make_product(stock=10).id
    cart = requests.post(f"{live_server}/api/v1/carts", timeout=10).json()
    etag = f'"{cart["version"]}"'

    def add(product_id):
        return requests.post(
            f"{live_server}/api/v1/carts/{cart['id']}/items",
            json={"product_id": product_id},
            headers={"If-Match": etag},
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(add, [first_id, second_id]))
    assert statuses == [200, 412]
    lines = requests.get(f"{live_server}/api/v1/carts/{cart['id']}", timeout=10).json()["lines"]
    assert len(lines) == 1


@pytest.mark.parametrize("shopper", ["guest", "customer"])
def test_adding_to_a_cart_runs_the_same_few_statements_for_1_or_20_lines(app, client, shopper):
    customer = make_user() if shopper == "customer" else None
    headers = auth_headers(customer) if customer else {}
    db.session.add(Coupon(code="FIVE", kind="fixed", amount_cents=500))
    db.session.add(Promotion(name="Tenth off", kind="percent", percent=10))
    db.session.commit()

    def statements_for(line_count: int) -> list[str]:
        cart_id = make_cart(customer, *[(make_product(stock=10), 1) for _ in range(line_count)],
                            coupon_code="FIVE").id
        added_id = make_product(stock=10).id
        with statements_run(app) as statements:
            response = client.post(f"/api/v1/carts/{cart_id}/items", json={"product_id": added_id, "quantity": 1},
                                   headers=headers)
        assert response.status_code == 200
        assert len(response.json["lines"]) == line_count + 1
        return statements

    one, twenty = statements_for(1), statements_for(20)
    # customer (for a customer's cart); claim the cart; cart with its lines, products, coupon and the
    # product added; the new line; promotions
    assert len(one) == len(twenty) <= (5 if customer else 4), "\n".join(twenty)
