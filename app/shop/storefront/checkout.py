"""Storefront checkout: the shipping address and card form, placing the order and paying it;
logged in, or as a guest with an e-mail address."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from pydantic import ValidationError

from ..accounts import service as accounts
from ..accounts.auth import current_user
from ..accounts.schemas import GuestContact
from ..cart import service as carts
from ..cart.pricing import PricingPolicy
from ..catalog.images import image_urls
from ..errors import Problem
from ..orders import service as orders
from ..orders.confirmation import record_confirmation
from ..orders.schemas import ShippingAddress
from .forms import field_errors, form_blueprint, refill
from .payment import card_errors, pay
from .session import order_link, remember_guest_order, session_cart

bp = form_blueprint("checkout_pages", __name__)

ADDRESS_FIELDS = ("name", "line1", "city", "postal_code", "country")
# Card fields never written back into a page.
SECRET_FIELDS = ("card_number", "cvc")


@bp.route("/checkout", methods=["GET", "POST"])
def checkout():
    user = current_user()  # None: a guest, who gives an e-mail address instead
    current = session_cart()
    if current is None or not current.lines:
        flash("Your cart is empty.", "error")
        return redirect(url_for("cart_pages.cart"))
    policy = PricingPolicy.from_config(current_app.config)
    quote = carts.quote(current, policy)

    def form_page(form, errors: dict[str, str], status: int = 200):
        return render_template("orders/checkout.html", quote=quote, form=form, errors=errors,
                               images=image_urls([line.product_id for line in quote.lines])), status

    if request.method == "GET":
        return form_page({"name": user.name} if user else {}, {})
    errors = card_errors()  # a typo in the card is caught before the order takes any stock
    try:
        address = ShippingAddress.model_validate({key: request.form.get(key, "") for key in ADDRESS_FIELDS})
        contact = None if user else GuestContact.model_validate({"email": request.form.get("email", "")})
    except ValidationError as error:
        errors = field_errors(error) | errors
    if not errors and user is None:
        try:
            user = accounts.guest_for(contact.email, address.name)
        except Problem as problem:
            errors = {"email": problem.detail}
    if errors:
        flash("Please correct the fields marked below.", "error")
        return form_page(refill(*SECRET_FIELDS), errors, 422)
    try:
        order = orders.place_order(current.id, user, address.model_dump(), policy,
                                   current_app.config["ORDER_RESERVATION_SECONDS"])
    except Problem as problem:
        flash(shortfall_sentence(problem), "error")
        return redirect(url_for("cart_pages.cart"))
    session.pop("cart_id", None)
    if user.role == accounts.GUEST:
        remember_guest_order(order["id"], user.id)
    record_confirmation(order["id"], user.email, f"Order #{order['id']} at shopstack",
                        render_template("orders/confirmation_email.txt", order=order,
                                        link=order_link(order["id"], user)))
    pay(order["id"], user)
    return redirect(url_for("order_pages.order", order_id=order["id"]))


def shortfall_sentence(problem: Problem) -> str:
    """Why checkout could not reserve the cart, in the shopper's words (the product's name, never its id)."""
    if problem.type != "out-of-stock":
        return problem.detail
    name, available = problem.extra["product_name"], problem.extra["available"]
    if available == 0:
        return f"{name} sold out while you were checking out: remove it from your cart to check out the rest."
    return (f"Only {available} of {name} left, and your cart has {problem.extra['requested']}: "
            "change the quantity to check out.")
