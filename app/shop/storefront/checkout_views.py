"""Storefront pages for the cart, accounts, checkout and orders. They call the same services
as the API; a Problem becomes a flash message on the page the customer came from."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for

from ..accounts import service as accounts
from ..accounts.auth import current_user, log_in, log_out
from ..api import PageQuery, parse
from ..cart import service as carts
from ..cart.views import pricing_policy
from ..errors import Problem
from ..limits import cart_creations, login_attempts, payment_attempts, registrations
from ..numbers import whole_number
from .forms import check_csrf, check_form_text, csrf_token, form_int

bp = Blueprint("shop_pages", __name__)
bp.before_request(check_csrf)
bp.before_request(check_form_text)


@bp.app_context_processor
def page_globals() -> dict:
    return {"csrf_token": csrf_token, "current_user": current_user}


def _session_cart():
    cart_id = session.get("cart_id")
    if not cart_id:
        return None
    try:
        return carts.get_cart(cart_id, current_user())
    except Problem:
        session.pop("cart_id", None)
        return None


def _flash_invalid(error) -> None:
    first = error.errors(include_url=False)[0]
    flash(f"{'.'.join(map(str, first['loc']))}: {first['msg']}", "error")


def _back(default: str = "shop_pages.cart"):
    target = request.form.get("next") or ""
    # Only paths on this site: never an open redirect.
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for(default))


@bp.get("/cart")
def cart(status: int = 200):
    current = _session_cart()
    quote = carts.quote(current, pricing_policy()) if current else None
    return render_template("cart/cart.html", cart=current, quote=quote), status


@bp.post("/cart/items")
@cart_creations
def add_to_cart():
    product_id = form_int("product_id", high=2**31 - 1)
    quantity = form_int("quantity", default=1, high=current_app.config["MAX_LINE_QUANTITY"])
    current = _session_cart() or carts.create_cart(current_user())
    session["cart_id"] = current.id
    try:
        carts.add_item(current.id, current_user(), product_id, quantity, current_app.config["MAX_LINE_QUANTITY"])
        flash("Added to your cart.", "success")
    except Problem as problem:
        flash(problem.detail, "error")
    return _back()


@bp.post("/cart/items/<int:product_id>")
def change_line(product_id: int):
    current = _session_cart()
    if current is None:
        return redirect(url_for("shop_pages.cart"))
    try:
        if request.form.get("action") == "remove":
            carts.remove_item(current.id, current_user(), product_id)
        else:
            # Any whole number: the cart service refuses one above the line limit, naming quantity.
            quantity = form_int("quantity", high=2**31 - 1)
            carts.set_quantity(current.id, current_user(), product_id, quantity,
                               current_app.config["MAX_LINE_QUANTITY"])
    except Problem as problem:
        flash(problem.detail, "error")
        if problem.status == 422:
            return cart(status=422)  # bad input: the cart again, saying why, as the checkout form does
    return redirect(url_for("shop_pages.cart"))


@bp.post("/cart/coupon")
def apply_coupon():
    current = _session_cart()
    if current is None:
        return redirect(url_for("shop_pages.cart"))
    code = request.form.get("code", "").strip().upper() or None
    try:
        carts.set_coupon(current.id, current_user(), code)
    except Problem as problem:
        flash(problem.detail, "error")
    return redirect(url_for("shop_pages.cart"))


@bp.route("/login", methods=["GET", "POST"])
@login_attempts
def login():
    if request.method == "POST":
        try:
            user = accounts.authenticate(request.form.get("email", ""), request.form.get("password", ""))
        except Problem as problem:
            flash(problem.detail, "error")
            return render_template("account/login.html", email=request.form.get("email", "")), 401
        log_in(user)
        flash(f"Welcome back, {user.name}.", "success")
        return _back("storefront.index")
    return render_template("account/login.html", email="")


@bp.route("/register", methods=["GET", "POST"])
@registrations
def register():
    if request.method == "POST":
        from pydantic import ValidationError

        from ..accounts.schemas import Registration

        try:
            fields = {key: request.form.get(key, "") for key in ("email", "password", "name")}
            data = Registration.model_validate(fields)
            user = accounts.register(data.email, data.password, data.name)
        except ValidationError as error:
            _flash_invalid(error)
            return render_template("account/register.html", form=request.form), 422
        except Problem as problem:
            flash(problem.detail, "error")
            return render_template("account/register.html", form=request.form), problem.status
        log_in(user)
        flash("Your account is ready.", "success")
        return redirect(url_for("storefront.index"))
    return render_template("account/register.html", form={})


@bp.post("/logout")
def logout():
    log_out()
    flash("You are logged out.", "success")
    return redirect(url_for("storefront.index"))


def _login_first():
    flash("Log in to check out; your cart comes with you.", "error")
    return redirect(url_for("shop_pages.login", next=request.path))


ADDRESS_FIELDS = ("name", "line1", "city", "postal_code", "country")
CARD_FIELDS = ("card_number", "exp_month", "exp_year", "cvc")


def _card_from_form():
    from ..payments.gateway import Card
    from ..payments.schemas import CardPayment

    raw = {key: request.form.get(key, "").replace(" ", "") for key in CARD_FIELDS}
    for key in ("exp_month", "exp_year"):
        number = whole_number(raw[key])
        raw[key] = raw[key] if number is None else number
    data = CardPayment.model_validate(raw)
    return Card(data.card_number, data.exp_month, data.exp_year, data.cvc)


def _pay(order_id: int, user) -> None:
    """Charge the card in the form; the outcome is a flash message on the order page."""
    from pydantic import ValidationError

    from ..extensions import payment_gateway
    from ..payments import service as payments
    from ..payments.gateway import REQUIRES_CONFIRMATION

    try:
        _, status = payments.pay_order(order_id, user, _card_from_form(), payment_gateway())
    except ValidationError as error:
        _flash_invalid(error)
        return
    except Problem as problem:
        flash(f"Payment failed: {problem.detail}", "error")
        return
    if status == REQUIRES_CONFIRMATION:
        flash("Your bank is confirming the payment; this page updates when it does.", "success")
    else:
        flash("Thank you! Your order is paid.", "success")


@bp.route("/checkout", methods=["GET", "POST"])
def checkout():
    from pydantic import ValidationError

    from ..orders import service as orders
    from ..orders.schemas import ShippingAddress

    user = current_user()
    if user is None:
        return _login_first()
    current = _session_cart()
    if current is None or not current.lines:
        flash("Your cart is empty.", "error")
        return redirect(url_for("shop_pages.cart"))
    quote = carts.quote(current, pricing_policy())
    if request.method == "GET":
        return render_template("orders/checkout.html", quote=quote, form={"name": user.name})
    try:
        address = ShippingAddress.model_validate({key: request.form.get(key, "") for key in ADDRESS_FIELDS})
        _card_from_form()  # a typo in the card is caught before the order takes any stock
    except ValidationError as error:
        _flash_invalid(error)
        return render_template("orders/checkout.html", quote=quote, form=request.form), 422
    try:
        order = orders.place_order(current.id, user, address.model_dump(), pricing_policy(),
                                   current_app.config["ORDER_RESERVATION_SECONDS"])
    except Problem as problem:
        flash(problem.detail, "error")
        return redirect(url_for("shop_pages.cart"))
    session.pop("cart_id", None)
    _pay(order["id"], user)
    return redirect(url_for("shop_pages.order", order_id=order["id"]))


@bp.get("/orders")
def orders_page():
    from ..orders import service as orders

    user = current_user()
    if user is None:
        return _login_first()
    page = parse(PageQuery, {"page": request.args.get("page") or "1"}, "query").page
    items, total = orders.list_orders(user, page, 20)
    return render_template("orders/list.html", orders=items, total=total, page=page)


@bp.get("/orders/<int:order_id>")
def order(order_id: int):
    from ..orders import service as orders

    user = current_user()
    if user is None:
        return _login_first()
    return render_template("orders/order.html", order=orders.get_order(order_id, user))


@bp.post("/orders/<int:order_id>/pay")
@payment_attempts
def pay(order_id: int):
    user = current_user()
    if user is None:
        return _login_first()
    _pay(order_id, user)
    return redirect(url_for("shop_pages.order", order_id=order_id))


@bp.post("/orders/<int:order_id>/cancel")
def cancel(order_id: int):
    from ..extensions import payment_gateway
    from ..orders import service as orders

    user = current_user()
    if user is None:
        return _login_first()
    try:
        orders.cancel_order(order_id, user, payment_gateway())
        flash("The order is cancelled.", "success")
    except Problem as problem:
        flash(problem.detail, "error")
    return redirect(url_for("shop_pages.order", order_id=order_id))
