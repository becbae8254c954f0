"""Storefront order pages: the customer's orders, one order, paying again, cancelling."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for

from ..accounts.auth import current_user
from ..accounts.service import GUEST
from ..api import PageQuery, parse
from ..catalog.images import image_urls
from ..errors import Problem
from ..extensions import payment_gateway
from ..limits import payment_attempts
from ..orders import service as orders
from ..orders import states
from ..payments.gateway import REQUIRES_CONFIRMATION, SUCCEEDED
from ..tasks import confirm_sandbox_payments, send
from . import payment
from .forms import form_blueprint
from .session import login_first, open_guest_order, order_link, order_viewer

bp = form_blueprint("order_pages", __name__)

# Orders on one page of "Your orders", newest first.
ORDERS_PER_PAGE = 20
# Seconds between reloads of an order page awaiting the bank, in a browser without JavaScript.
STATUS_REFRESH_SECONDS = 5


def awaiting_confirmation(order: dict) -> bool:
    return any(payment["status"] == REQUIRES_CONFIRMATION for payment in order["payments"])


@bp.get("/orders")
def orders_page():
    user = current_user()
    if user is None:
        return login_first()
    page = parse(PageQuery, {"page": request.args.get("page") or "1"}, "query").page
    # "Your orders" are the shopper's own, staff's too: everyone's orders are the console's.
    items, total = orders.list_orders(user, page, ORDERS_PER_PAGE, own=True)
    return render_template("orders/list.html", orders=items, total=total, page=page,
                           last_page=max(1, -(-total // ORDERS_PER_PAGE)))


@bp.get("/orders/<int:order_id>")
def order(order_id: int):
    user = order_viewer(order_id)
    if user is None:
        return login_first()
    order = orders.get_order(order_id, user)
    if awaiting_confirmation(order) and bank_runs_here():  # the page reloaded without JavaScript follows it too
        order = orders.get_order(order_id, user)
    guest_link = order_link(order_id, user) if user.role == GUEST else None
    return render_template("orders/order.html", order=order, awaiting_confirmation=awaiting_confirmation(order),
                           images=image_urls([line["product_id"] for line in order["lines"]]), guest_link=guest_link,
                           status_refresh_seconds=STATUS_REFRESH_SECONDS)


def bank_runs_here() -> bool:
    """On the embedded default there is no worker: the sandbox's bank confirms what is due when the
    shopper looks. True when it ran here (the order may have moved)."""
    if current_app.config["BROKER_URL"]:
        return False
    send(confirm_sandbox_payments)
    return True


@bp.get("/orders/guest/<token>")
def guest_order(token: str):
    """A guest's signed link to their order (in the confirmation page and e-mail)."""
    order_id = open_guest_order(token)
    if order_id is None:
        raise Problem(404, "Not found", "This order link is not valid.", type_="not-found")
    return redirect(url_for("order_pages.order", order_id=order_id))


@bp.get("/orders/<int:order_id>/status")
def order_status(order_id: int):
    """What the order page follows while the bank confirms a payment (order-status.js)."""
    user = order_viewer(order_id)
    if user is None:
        raise Problem(401, "Not logged in", "Log in to see this order.", type_="unauthenticated")
    bank_runs_here()
    order = orders.get_order(order_id, user)
    return {"status": order["status"], "awaiting_confirmation": awaiting_confirmation(order)}


@bp.post("/orders/<int:order_id>/pay")
@payment_attempts
def pay(order_id: int):
    user = order_viewer(order_id)
    if user is None:
        return login_first()
    payment.pay(order_id, user)
    return redirect(url_for("order_pages.order", order_id=order_id))


@bp.post("/orders/<int:order_id>/cancel")
def cancel(order_id: int):
    user = order_viewer(order_id)
    if user is None:
        return login_first()
    if request.form.get("confirmed") != "yes":
        order = orders.get_order(order_id, user)
        if order["status"] == states.PAID:  # money goes back: the shopper says so first
            return render_template("orders/cancel.html", order=order,
                                   paid_by=[payment for payment in order["payments"] if payment["status"] == SUCCEEDED])
    try:
        orders.cancel_order(order_id, user, payment_gateway())
        flash("The order is cancelled.", "success")
    except Problem as problem:
        flash(problem.detail, "error")
    return redirect(url_for("order_pages.order", order_id=order_id))
