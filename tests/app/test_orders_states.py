"""The order's state machine: the table, the staff's moves, cancelling, refunds, who sees what."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from shop.cart.models import Coupon
from shop.catalog.models import Product
from shop.extensions import db
from shop.orders import states
from shop.orders.models import OrderTransition
from shop.outbox import OutboxEvent

from .factories import ADDRESS, auth_headers, make_cart, make_order, make_product, make_user
from .test_payments import pay

ALLOWED_MOVES = {
    ("pending_payment", "paid"),
    ("pending_payment", "cancelled"),
    ("paid", "shipped"),
    ("paid", "cancelled"),
    ("paid", "refunded"),
    ("shipped", "delivered"),
    ("shipped", "refunded"),
    ("delivered", "completed"),
    ("delivered", "refunded"),
}


@pytest.mark.parametrize(("from_status", "to_status"), list(itertools.product(states.STATES, repeat=2)))
def test_the_transition_table(from_status, to_status):
    assert states.can_move(from_status, to_status) == ((from_status, to_status) in ALLOWED_MOVES)


@pytest.mark.parametrize(
    ("from_status", "to_status"), [(f, t) for f, t in itertools.product(states.STATES, states.STAFF_TARGETS)]
)
def test_staff_moves_follow_the_table(client, from_status, to_status):
    staff, customer = make_user(role="staff"), make_user()
    order = make_order(customer, status=from_status)
    response = client.post(
        f"/api/v1/orders/{order['id']}/transitions",
        json={"status": to_status, "cause": "warehouse scan"},
        headers=auth_headers(staff),
    )
    if (from_status, to_status) in ALLOWED_MOVES:
        assert response.status_code == 200, response.json
        assert response.json["status"] == to_status
        assert response.json["transitions"][-1] | {"at": None} == {
            "from_status": from_status,
            "to_status": to_status,
            "cause": "warehouse scan",
            "at": None,
        }
    else:
        assert response.status_code == 409
        assert response.json["current_status"] == from_status
        assert from_status in response.json["detail"]


def stock_of(product_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(select(Product.stock).where(Product.id == product_id))


def test_the_whole_happy_path_is_recorded(client):
    staff, customer = make_user(role="staff"), make_user()
    order = make_order(customer, status="paid")
    for status in ("shipped", "delivered", "completed"):
        response = client.post(
            f"/api/v1/orders/{order['id']}/transitions",
            json={"status": status, "cause": "ok"},
            headers=auth_headers(staff),
        )
        assert response.status_code == 200
    steps = db.session.scalars(
        select(OrderTransition).where(OrderTransition.order_id == order["id"]).order_by(OrderTransition.id)
    ).all()
    assert [(s.from_status, s.to_status) for s in steps] == [
        (None, "pending_payment"),
        ("paid", "shipped"),
        ("shipped", "delivered"),
        ("delivered", "completed"),
    ]
    topics = db.session.scalars(select(OutboxEvent.topic).order_by(OutboxEvent.id)).all()
    assert topics == ["order.created", "order.shipped", "order.delivered", "order.completed"]


def test_cancelling_returns_the_stock(client):
    customer = make_user()
    product = make_product(stock=10)
    order = make_order(customer, (product, 4))
    assert stock_of(product.id) == 6
    response = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=auth_headers(customer))
    assert response.status_code == 200
    assert response.json["status"] == "cancelled"
    assert response.json["transitions"][-1]["cause"] == "cancelled by the customer"
    assert response.json["reserved_until"] is None
    assert stock_of(product.id) == 10
    again = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=auth_headers(customer))
    assert again.status_code == 409
    assert again.json["current_status"] == "cancelled"
    assert stock_of(product.id) == 10


def test_a_shipped_order_cannot_be_cancelled(client):
    customer = make_user()
    order = make_order(customer, status="shipped")
    response = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=auth_headers(customer))
    assert response.status_code == 409
    assert "shipped" in response.json["detail"]


def test_staff_need_to_be_staff(client):
    customer = make_user()
    order = make_order(customer, status="paid")
    response = client.post(
        f"/api/v1/orders/{order['id']}/transitions",
        json={"status": "shipped", "cause": "x"},
        headers=auth_headers(customer),
    )
    assert response.status_code == 403
    refund = client.post(f"/api/v1/orders/{order['id']}/refund", json={}, headers=auth_headers(customer))
    assert refund.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"status": "paid", "cause": "x"},
        {"status": "lost", "cause": "x"},
        {"status": "shipped"},
        {"status": "shipped", "cause": ""},
    ],
)
def test_bad_staff_moves_are_422(client, body):
    order = make_order(make_user(), status="paid")
    response = client.post(
        f"/api/v1/orders/{order['id']}/transitions", json=body, headers=auth_headers(make_user(role="staff"))
    )
    assert response.status_code == 422
    assert response.json["field"] in ("status", "cause")


def test_customers_see_only_their_own_orders(client):
    alice, bob, staff = make_user(), make_user(), make_user(role="staff")
    alices = [make_order(alice) for _ in range(3)]
    bobs = make_order(bob)

    mine = client.get("/api/v1/orders?per_page=2", headers=auth_headers(alice)).json
    assert mine["total"] == 3
    assert mine["page"] == 1 and mine["per_page"] == 2
    assert [item["id"] for item in mine["items"]] == [alices[2]["id"], alices[1]["id"]]
    assert client.get(f"/api/v1/orders/{bobs['id']}", headers=auth_headers(alice)).status_code == 404
    assert client.post(f"/api/v1/orders/{bobs['id']}/cancel", headers=auth_headers(alice)).status_code == 404
    assert client.get("/api/v1/orders", headers=auth_headers(staff)).json["total"] == 4
    assert client.get(f"/api/v1/orders/{bobs['id']}", headers=auth_headers(staff)).status_code == 200
    assert client.get("/api/v1/orders?status=cancelled", headers=auth_headers(staff)).json["total"] == 0


def test_an_order_shows_its_history_and_payments(client):
    customer = make_user()
    order = make_order(customer)
    response = client.get(f"/api/v1/orders/{order['id']}", headers=auth_headers(customer))
    assert response.status_code == 200
    assert response.json == order


@pytest.mark.parametrize("path", ["/api/v1/orders/99999999999999999999", "/api/v1/orders/0", "/api/v1/orders/123"])
def test_unknown_orders_are_404(client, path):
    assert client.get(path, headers=auth_headers(make_user())).status_code == 404


@pytest.mark.parametrize("query", ["page=0", "per_page=1000", "status=lost", "page=abc"])
def test_bad_list_queries_are_422(client, query):
    response = client.get(f"/api/v1/orders?{query}", headers=auth_headers(make_user()))
    assert response.status_code == 422


def test_orders_need_a_login(client):
    assert client.get("/api/v1/orders").status_code == 401


def one_use_coupon_order(client, customer) -> dict:
    """An order placed with the coupon ONCE, which may be used one time."""
    db.session.add(Coupon(code="ONCE", kind="fixed", amount_cents=100, usage_limit=1))
    db.session.commit()
    cart = make_cart(customer, (make_product(stock=5), 1), coupon_code="ONCE")
    response = client.post("/api/v1/orders", json={"cart_id": cart.id, "shipping_address": ADDRESS},
                           headers=auth_headers(customer))
    assert response.json["coupon_code"] == "ONCE"
    return response.json


def coupon_uses(code: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(Coupon.times_used).where(Coupon.code == code))


@pytest.mark.parametrize("paid", [False, True], ids=["pending", "paid"])
def test_a_cancelled_order_gives_its_coupon_back(client, paid):
    customer = make_user()
    order = one_use_coupon_order(client, customer)
    if paid:
        assert pay(client, customer, order).status_code == 201
    assert coupon_uses("ONCE") == 1
    assert client.post(f"/api/v1/orders/{order['id']}/cancel", headers=auth_headers(customer)).status_code == 200
    assert coupon_uses("ONCE") == 0
    again = make_cart(customer, (make_product(stock=5), 1), coupon_code="ONCE")
    response = client.post("/api/v1/orders", json={"cart_id": again.id, "shipping_address": ADDRESS},
                           headers=auth_headers(customer))
    assert response.json["coupon_code"] == "ONCE"
