"""Storefront cart pages: the priced cart, adding and changing lines, the coupon."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for

from ..accounts.auth import current_user
from ..cart import service as carts
from ..cart.pricing import PricingPolicy
from ..catalog.images import image_urls
from ..errors import Problem
from ..limits import cart_creations
from .forms import form_blueprint, form_int
from .session import back, session_cart

bp = form_blueprint("cart_pages", __name__)


@bp.get("/cart")
def cart(status: int = 200):
    current = session_cart()
    quote = carts.quote(current, PricingPolicy.from_config(current_app.config)) if current else None
    images = image_urls([line.product_id for line in quote.lines]) if quote else {}
    return render_template("cart/cart.html", cart=current, quote=quote, images=images), status


@bp.post("/cart/items")
@cart_creations
def add_to_cart():
    product_id = form_int("product_id", high=2**31 - 1)
    quantity = form_int("quantity", default=1, high=current_app.config["MAX_LINE_QUANTITY"])
    current = session_cart() or carts.create_cart(current_user())
    session["cart_id"] = current.id
    if current_user() is None:
        # A guest's cart is in the session alone: it outlives the browser (a customer's is on the account).
        session.permanent = True
    try:
        carts.add_item(current.id, current_user(), product_id, quantity, current_app.config["MAX_LINE_QUANTITY"])
        flash("Added to your cart.", "success")
    except Problem as problem:
        flash(problem.detail, "error")
    return back("cart_pages.cart")


@bp.post("/cart/items/<int:product_id>")
def change_line(product_id: int):
    current = session_cart()
    if current is None:
        return redirect(url_for("cart_pages.cart"))
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
    return redirect(url_for("cart_pages.cart"))


@bp.post("/cart/coupon")
def apply_coupon():
    current = session_cart()
    if current is None:
        return redirect(url_for("cart_pages.cart"))
    code = request.form.get("code", "").strip().upper() or None
    try:
        carts.set_coupon(current.id, current_user(), code)
    except Problem as problem:
        flash(problem.detail, "error")
    return redirect(url_for("cart_pages.cart"))
