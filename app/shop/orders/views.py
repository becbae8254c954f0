"""The orders API: checkout, orders, the staff's moves and refunds."""

from __future__ import annotations

from flask import Blueprint, current_app

from ..accounts.auth import require_customer, require_staff
from ..api import IDEMPOTENCY_KEY, answer_once, operation, page_of
from ..cart.pricing import PricingPolicy
from ..extensions import payment_gateway
from . import service
from .schemas import NewOrder, OrderOut, OrderPage, OrderQuery, Refund, StaffTransition
from .states import REFUNDED

bp = Blueprint("orders", __name__, url_prefix="/api/v1")


@bp.post("/orders")
@operation("Check out a cart: an order pending payment, its stock reserved", tags=["orders"], body=NewOrder,
           response=OrderOut, status=201, auth="customer", headers=IDEMPOTENCY_KEY)
def create_order(body: NewOrder):
    customer = require_customer()
    config = current_app.config

    def place() -> dict:
        return service.place_order(body.cart_id, customer, body.shipping_address.model_dump(),
                                   PricingPolicy.from_config(config), config["ORDER_RESERVATION_SECONDS"])

    return answer_once(customer.id, body, place, status_of=lambda _order: 201,
                       headers=lambda order: {"Location": f"{bp.url_prefix}/orders/{order['id']}"})


@bp.get("/orders")
@operation("Orders, newest first: the customer's own (staff see everyone's)", tags=["orders"],
           query=OrderQuery, response=OrderPage, auth="customer")
def list_orders(query: OrderQuery):
    items, total = service.list_orders(require_customer(), query.page, query.per_page, query.status)
    return page_of(items, total, query)


@bp.get("/orders/<int:order_id>")
@operation("An order with its lines, pricing, history and payments", tags=["orders"], response=OrderOut,
           auth="customer")
def show_order(order_id: int):
    return service.get_order(order_id, require_customer())


@bp.post("/orders/<int:order_id>/cancel")
@operation("Cancel an order (a paid one is refunded); its stock goes back", tags=["orders"],
           response=OrderOut, auth="customer")
def cancel_order(order_id: int):
    return service.cancel_order(order_id, require_customer(), payment_gateway())


@bp.post("/orders/<int:order_id>/transitions")
@operation("Staff: move an order along its states (shipped, delivered, completed, ...)", tags=["orders"],
           body=StaffTransition, response=OrderOut, auth="staff")
def move_order(order_id: int, body: StaffTransition):
    return service.move_order(order_id, require_staff(), body.status, body.cause, payment_gateway())


@bp.post("/orders/<int:order_id>/refund")
@operation("Staff: refund a paid, shipped or delivered order", tags=["orders"], body=Refund,
           response=OrderOut, auth="staff")
def refund_order(order_id: int, body: Refund):
    return service.move_order(order_id, require_staff(), REFUNDED, body.cause, payment_gateway())
