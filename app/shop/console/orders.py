"""The staff console's orders: search by id, e-mail or status; an order's history, payments and
shipment; the moves staff may make and refunds, as forms that call the orders service."""

from __future__ import annotations

from typing import Literal

from flask import redirect, render_template, request, url_for
from pydantic import Field

from ..accounts.auth import require_staff
from ..accounts.service import user_by_id
from ..api import PageQuery, Schema, parse
from ..extensions import payment_gateway
from ..logistics.queries import shipment_for_order
from ..orders import service as orders
from ..orders import states
from ..storefront.forms import attempt
from . import console_blueprint

bp = console_blueprint("console_orders", __name__)

ORDERS_PER_PAGE = 25


class OrderSearch(PageQuery):
    q: str = Field("", max_length=254, description="An order id, or (part of) the customer's e-mail")
    status: Literal[states.STATES] | None = None  # type: ignore[valid-type]


class OrderMove(Schema):
    status: Literal[states.STAFF_TARGETS]  # type: ignore[valid-type]
    cause: str = Field(min_length=1, max_length=200)


@bp.get("/orders")
def order_list():
    args = {key: value for key, value in request.args.items() if value.strip()}
    query = parse(OrderSearch, {"per_page": ORDERS_PER_PAGE, **args}, "query")
    items, total = orders.search_orders(query.q, query.status, query.page, query.per_page)
    if len(items) == 1 and query.q.removeprefix("#").isdigit() and query.page == 1:
        return redirect(url_for(".order_page", order_id=items[0]["id"]))
    return render_template("console/orders.html", orders=items, total=total, query=query, statuses=states.STATES,
                           last_page=max(1, -(-total // query.per_page)))


@bp.get("/orders/<int:order_id>")
def order_page(order_id: int):
    order = orders.get_order(order_id, require_staff())
    return render_template("console/order.html", order=order, customer=user_by_id(order["customer_id"]),
                           shipment=shipment_for_order(order_id), moves=orders.staff_moves(order["status"]))


@bp.post("/orders/<int:order_id>/moves")
def move(order_id: int):
    def move_it():
        wanted = parse(OrderMove, {key: request.form.get(key, "") for key in ("status", "cause")}, "body")
        return orders.move_order(order_id, require_staff(), wanted.status, wanted.cause, payment_gateway())

    attempt(move_it, lambda order: f"Order {order_id} is {order['status'].replace('_', ' ')} now.")
    return redirect(url_for(".order_page", order_id=order_id))
