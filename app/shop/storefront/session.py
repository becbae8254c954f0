"""What the storefront keeps per visitor: the session's cart, who is logged in, and where to
go back to. Shared by every page module; it renders nothing itself."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ..accounts import service as accounts
from ..accounts.auth import current_user
from ..cart import service as carts
from ..cart.models import CartLine
from ..errors import Problem
from ..extensions import db
from .forms import csrf_token


def session_cart():
    cart_id = session.get("cart_id")
    if not cart_id:
        return None
    try:
        return carts.get_cart(cart_id, current_user())
    except Problem:
        session.pop("cart_id", None)
        return None


# Signs the links to guests' orders (with SECRET_KEY): whoever holds one sees that order.
GUEST_ORDER_SALT = "shopstack-guest-order"


def guest_order_token(order_id: int, user_id: int) -> str:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=GUEST_ORDER_SALT).dumps([order_id, user_id])


def order_link(order_id: int, viewer) -> str:
    """The full address of the order's page: for a guest, the signed link that opens it."""
    if viewer.role == accounts.GUEST:
        return url_for("order_pages.guest_order", token=guest_order_token(order_id, viewer.id), _external=True)
    return url_for("order_pages.order", order_id=order_id, _external=True)


def email_claim_link(guest) -> None:
    """E-mail the guest's address the link that finishes an account on it, their orders with it:
    whoever reads that mail is who the orders belong to."""
    from ..mail import record_email

    link = url_for("account_pages.claim", token=accounts.claim_token(guest, current_app.config["SECRET_KEY"]),
                   _external=True)
    record_email("account.claim_email", guest.email, "Finish your account at shopstack",
                 render_template("account/claim_email.txt", guest=guest, link=link,
                                 hours=current_app.config["ACCOUNT_CLAIM_MAX_AGE_SECONDS"] // 3600))


def open_guest_order(token: str) -> int | None:
    """The order a guest's signed link names, now seeable in this session; None for a bad link."""
    try:
        order_id, user_id = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=GUEST_ORDER_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    remember_guest_order(order_id, user_id)
    return order_id


def remember_guest_order(order_id: int, user_id: int) -> None:
    session["guest_orders"] = {**session.get("guest_orders", {}), str(order_id): user_id}


def order_viewer(order_id: int):
    """Who is looking at this order: the logged-in shopper, or the guest it was placed by, if
    this session placed it or opened its signed link."""
    user = current_user()
    if user is not None:
        return user
    user_id = session.get("guest_orders", {}).get(str(order_id))
    return accounts.guest(user_id) if isinstance(user_id, int) else None


def safe_next(target: str | None) -> str | None:
    """A path on this site to go back to, or None: never an open redirect (no scheme, no host,
    no `//` or `/\\` that browsers read as another host)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(char) < 32 for char in target):
        return None
    return target


def back(default: str):
    return redirect(safe_next(request.values.get("next")) or url_for(default))


def login_first(why: str = "Log in to check out; your cart comes with you."):
    """To the login page with a sentence on why, coming back here (a same-site path) after it."""
    flash(why, "error")
    return redirect(url_for("account_pages.login", next=safe_next(request.full_path.rstrip("?"))))


def page_globals() -> dict:
    return {"csrf_token": csrf_token, "current_user": current_user}


def page_frame() -> dict:
    """Who is shopping and how full their cart is, for the nav bar of every page."""
    cart_id = session.get("cart_id")
    try:
        shopper = current_user()
        count = db.session.scalar(select(func.sum(CartLine.quantity))
                                  .where(CartLine.cart_id == cart_id)) if cart_id else None
    except (Problem, SQLAlchemyError):
        # The error page renders this frame too: it must not fail when the login or database does.
        db.session.rollback()
        return {"cart_count": None, "shopper": None}
    return {"cart_count": count, "shopper": shopper}
