"""Unpaid orders give their stock back when their reservation runs out."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select, update

from shop.catalog.models import Product
from shop.columns import utcnow
from shop.extensions import db
from shop.orders.models import Order, OrderTransition
from shop.orders.service import release_expired_reservations
from shop.outbox import OutboxEvent
from shop.tasks import release_expired_reservations as release_task

from .factories import ADDRESS, auth_headers, make_cart, make_order, make_product, make_user
from .test_orders_states import coupon_uses, one_use_coupon_order
from .test_payments import GOOD_CARD


def expire(*orders: dict) -> None:
    db.session.execute(
        update(Order)
        .where(Order.id.in_([order["id"] for order in orders]))
        .values(reserved_until=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


def stock_of(product_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(select(Product.stock).where(Product.id == product_id))


def status_of(order: dict) -> str:
    db.session.expire_all()
    return db.session.scalar(select(Order.status).where(Order.id == order["id"]))


def test_expired_unpaid_orders_are_cancelled_and_restocked(app):
    customer = make_user()
    lamp, shade = make_product(stock=10), make_product(stock=10)
    late = make_order(customer, (lamp, 2), (shade, 1))
    also_late = make_order(customer, (lamp, 3))
    on_time = make_order(customer, (lamp, 1))
    paid = make_order(customer, (shade, 4), status="paid")
    expire(late, also_late, paid)
    assert stock_of(lamp.id) == 4

    assert release_expired_reservations() == 2

    assert [status_of(order) for order in (late, also_late, on_time, paid)] == [
        "cancelled",
        "cancelled",
        "pending_payment",
        "paid",
    ]
    assert (stock_of(lamp.id), stock_of(shade.id)) == (9, 6)
    step = db.session.scalar(
        select(OrderTransition).where(OrderTransition.order_id == late["id"], OrderTransition.to_status == "cancelled")
    )
    assert (step.from_status, step.cause) == ("pending_payment", "reservation expired")
    assert db.session.scalars(select(OutboxEvent.topic)).all().count("order.cancelled") == 2
    assert release_expired_reservations() == 0
    assert stock_of(lamp.id) == 9


def test_the_task_and_the_command_run_the_sweep(app, runner):
    customer = make_user()
    expire(make_order(customer))
    assert release_task.delay().get() == 1
    expire(make_order(customer))
    result = runner.invoke(args=["release-expired-reservations"])
    assert result.exit_code == 0
    assert "Released 1 orders." in result.output


def test_concurrent_sweeps_release_each_order_once(app):
    customer = make_user()
    product = make_product(stock=40)
    orders = [make_order(customer, (product, 1)) for _ in range(20)]
    expire(*orders)
    counts: list[int] = []

    def sweep():
        with app.app_context():
            counts.append(release_expired_reservations())
            db.session.remove()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sum(counts) == 20
    assert stock_of(product.id) == 40
    cancellations = db.session.scalars(
        select(OrderTransition.order_id).where(OrderTransition.to_status == "cancelled")
    ).all()
    assert sorted(cancellations) == sorted(order["id"] for order in orders)


def test_an_expired_order_can_no_longer_be_paid(app, client):
    customer = make_user()
    order = make_order(customer)
    expire(order)
    release_expired_reservations()
    response = client.post(f"/api/v1/orders/{order['id']}/payments", json=GOOD_CARD, headers=auth_headers(customer))
    assert response.status_code == 409
    assert response.json["current_status"] == "cancelled"


def test_an_expired_order_gives_its_coupon_back(app, client):
    customer = make_user()
    order = one_use_coupon_order(client, customer)
    expire(order)
    assert release_expired_reservations() == 1
    assert coupon_uses("ONCE") == 0
    # The one-use coupon is usable again: a new order gets its discount.
    again = make_cart(customer, (make_product(stock=5), 1), coupon_code="ONCE")
    response = client.post(
        "/api/v1/orders", json={"cart_id": again.id, "shipping_address": ADDRESS}, headers=auth_headers(customer)
    )
    assert response.status_code == 201, response.json
    assert response.json["coupon_code"] == "ONCE"
