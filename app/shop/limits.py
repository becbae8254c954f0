"""Rate limits against abuse: guessing passwords, mass sign-ups and carts, testing stolen cards,
guessing parcels.

Each limit is a setting in config.py. Counters live in Redis when REDIS_URL is set (so every process
counts together) and in the process's memory on the embedded default. Over a limit the API answers
429 problem+json with Retry-After; the storefront shows the same reason on its error page.

A view takes a limit with one decorator line, under its route: `@login_attempts`, `@registrations`,
`@cart_creations`, `@payment_attempts`, `@tracking_lookups`. Views sharing a decorator share its
counters, so the API and the storefront cannot be played against each other.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

from flask import Flask, Response, current_app, request, session
from flask.globals import request_ctx
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from .errors import Problem

limiter = Limiter(
    key_func=get_remote_address,
    key_prefix="shop",
    strategy="fixed-window",
    headers_enabled=True,
    # Redis down must not take logins and payments down with it: count in memory until it is back.
    swallow_errors=True,
    in_memory_fallback_enabled=True,
)


def init_limiter(app: Flask) -> None:
    app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"] or "memory://"
    limiter.init_app(app)
    # Every limit here is a view's decorator, checked when that view runs. The extension's own pass
    # before every request only finds application-wide and default limits, which the shop sets none
    # of, so it is left out: it cost a cached read a fifth of its time.
    if not any(app.config.get(name) for name in ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")):
        app.before_request_funcs[None].remove(limiter._check_request_limit)
        # Its headers and conditional deductions after the answer, likewise, only where a limit was
        # checked (the extension keeps what it checked on the request's context).
        app.after_request_funcs[None] = [_where_limited(hook) if _is_limiters(hook) else hook
                                         for hook in app.after_request_funcs[None]]
        app.teardown_request_funcs[None] = [_where_limited(hook) if _is_limiters(hook) else hook
                                            for hook in app.teardown_request_funcs[None]]


def _is_limiters(hook: Callable) -> bool:
    return getattr(hook, "__self__", None) is limiter or limiter in getattr(hook, "args", ())


def _where_limited(hook: Callable) -> Callable:
    @functools.wraps(hook)
    def run(response_or_error):
        if hasattr(request_ctx, "_limiter_request_context"):
            return hook(response_or_error)
        return response_or_error  # the response, after it; nothing anyone reads, at teardown

    return run


def _setting(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def _posted_email() -> str:
    """The account a login is for, as the login finds it: the form's or the JSON body's e-mail."""
    email = request.form.get("email")
    if email is None:
        try:
            body = json.loads(request.get_data(cache=True) or b"{}")
        except (ValueError, UnicodeDecodeError):
            body = None
        email = body.get("email") if isinstance(body, dict) else None
    return f"account:{str(email or '').strip().lower()}"


def _order_payer() -> str:
    """The order being paid and who is paying it: another shopper cannot use up the customer's tries."""
    from .accounts.auth import current_user

    try:
        user = current_user()
    except Problem:
        user = None
    who = f"customer:{user.id}" if user else f"address:{get_remote_address()}"
    return f"order:{(request.view_args or {}).get('order_id')}:{who}"


def _refused_login(response: Response) -> bool:
    return response.status_code == 401


def _payment_tried(response: Response) -> bool:
    # A stranger's request (401/403/404), a replayed or conflicting one (409) reached no gateway.
    return response.status_code not in (401, 403, 404, 409) and "Idempotent-Replayed" not in response.headers


def _not_a_post() -> bool:
    return request.method != "POST"


_login_per_account = limiter.shared_limit(
    _setting("RATE_LIMIT_LOGIN_PER_ACCOUNT"), scope="login-account", key_func=_posted_email,
    exempt_when=_not_a_post, deduct_when=_refused_login,
    error_message="Too many failed logins for this account; wait a while and try again.")
_login_per_address = limiter.shared_limit(
    _setting("RATE_LIMIT_LOGIN_PER_ADDRESS"), scope="login-address",
    exempt_when=_not_a_post, deduct_when=_refused_login,
    error_message="Too many failed logins from your address; wait a while and try again.")
registrations = limiter.shared_limit(
    _setting("RATE_LIMIT_REGISTRATION_PER_ADDRESS"), scope="registration", exempt_when=_not_a_post,
    error_message="Too many new accounts from your address; wait a while and try again.")
cart_creations = limiter.shared_limit(
    _setting("RATE_LIMIT_CART_CREATION_PER_ADDRESS"), scope="cart-creation",
    # The storefront opens a cart only for a session that has none.
    exempt_when=lambda: "cart_id" in session,
    error_message="Too many new carts from your address; wait a while and try again.")
payment_attempts = limiter.shared_limit(
    _setting("RATE_LIMIT_PAYMENT_ATTEMPTS_PER_ORDER"), scope="order-payment", key_func=_order_payer,
    deduct_when=_payment_tried,
    error_message="Too many payment attempts for this order; wait a while or contact us.")


tracking_lookups = limiter.shared_limit(
    _setting("RATE_LIMIT_TRACKING_PER_ADDRESS"), scope="parcel-tracking",
    # Only misses count: guessing tracking numbers or postal codes, not a recipient refreshing.
    deduct_when=lambda response: response.status_code == 404,
    error_message="Too many parcel look-ups that found nothing; wait a while and try again.")


def login_attempts(view: Callable) -> Callable:
    """Failed logins are counted per account (the e-mail given) and per client address."""
    return _login_per_account(_login_per_address(view))
