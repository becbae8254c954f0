"""Who is asking: a bearer token for API clients, the session cookie for the storefront."""

from __future__ import annotations

from flask import current_app, request, session

from ..errors import Problem
from .models import User
from .service import end_sessions, signed_in_user, user_from_token

_UNSET = object()
# Methods that only read: the session cookie may authenticate them anywhere.
READ_METHODS = ("GET", "HEAD", "OPTIONS")


def _cookie_refused() -> bool:
    """An API write is authenticated by a bearer token only: a browser attaches the session cookie to
    a request another site makes it send (CSRF); it never attaches a bearer token."""
    return request.method not in READ_METHODS and request.path.startswith("/api/")


def current_user() -> User | None:
    # Remembered on the request (not on g, which can outlive one request in an app context).
    cached = getattr(request, "shop_user", _UNSET)
    if cached is not _UNSET:
        return cached
    user = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        user = user_from_token(header[7:].strip(), current_app.config["SECRET_KEY"],
                               current_app.config["API_TOKEN_MAX_AGE_SECONDS"])
        if user is None:
            raise Problem(401, "Unauthorized", "The bearer token is invalid or expired.",
                          type_="invalid-token")
    elif "uid" in session and not _cookie_refused():
        user = signed_in_user(session["uid"], session.get("auth_epoch", 0))
    request.shop_user = user
    return user


def require_customer() -> User:
    user = current_user()
    if user is None and "uid" in session and _cookie_refused():
        raise Problem(401, "Unauthorized", "API writes need a bearer token from POST /api/v1/auth/login; "
                      "the session cookie is accepted for reads only.", type_="bearer-token-required")
    if user is None:
        raise Problem(401, "Unauthorized", "Log in, or send a bearer token from POST /api/v1/auth/login.",
                      type_="login-required")
    return user


def require_staff() -> User:
    user = require_customer()
    if not user.is_staff:
        raise Problem(403, "Forbidden", "Only staff may do this.", type_="staff-only")
    return user


def log_in(user: User, guest_cart_id: str | None = None, remember: bool = False) -> None:
    """Start a fresh session for `user`. The cart filled as a guest (`guest_cart_id`, else the
    session's) stays the shopper's: it becomes theirs, or is merged into the one they had; with
    no guest cart, the one they had is the session's. `remember` keeps the session for
    PERMANENT_SESSION_LIFETIME instead of until the browser closes."""
    from ..cart.service import merge_guest_cart, open_cart_of

    guest_cart_id = guest_cart_id or session.get("cart_id")
    session.clear()
    session["uid"] = user.id
    session["auth_epoch"] = user.auth_epoch
    session.permanent = remember
    request.shop_user = user
    cart = merge_guest_cart(user, guest_cart_id) or open_cart_of(user)
    if cart is not None:
        session["cart_id"] = cart.id


def log_out() -> None:
    """End this login and every other one of the same user: a copied cookie or token stops working."""
    user = current_user()
    if user is not None:
        end_sessions(user)
    session.clear()
    request.shop_user = None
