"""Storefront form plumbing: a per-session CSRF token, whole numbers from form fields, and the
blueprint every page module with forms is made from."""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, flash, request, session
from pydantic import ValidationError

from ..errors import Problem
from ..numbers import whole_number

CSRF_FIELD = "csrf_token"

T = TypeVar("T")


def csrf_token() -> str:
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return session[CSRF_FIELD]


def check_csrf() -> None:
    """Refuse a storefront form post that does not carry this session's token."""
    if request.method != "POST":
        return
    sent = request.form.get(CSRF_FIELD, "")
    if not sent or not hmac.compare_digest(sent, session.get(CSRF_FIELD, "")):
        raise Problem(400, "Bad request", "The form expired or came from another site; reload the page and try again.",
                      type_="bad-form", field=CSRF_FIELD)


def form_int(name: str, default: int | None = None, low: int = 1, high: int = 999) -> int:
    raw = request.form.get(name, "")
    if raw == "" and default is not None:
        return default
    number = whole_number(raw.strip(), high)
    if number is None or number < low:
        raise Problem(400, "Bad request", f"{name} must be a whole number from {low} to {high}.",
                      type_="bad-form", field=name)
    return number


def check_form_text() -> None:
    """Refuse a form with a NUL character in a field: no field of the shop can hold one."""
    for name, value in request.form.items(multi=True):
        if "\x00" in value:
            raise Problem(400, "Bad request", f"{name} must not contain NUL characters.", type_="bad-form",
                          field=name)


# An amount of money as shoppers type it: whole units, or units and one or two decimals.
MONEY_TEXT = re.compile(r"[0-9]{1,9}(\.[0-9]{1,2})?")


def cents_from_units(text: str, high: int) -> int | None:
    """"19.99" -> 1999; None for anything else, or above `high` cents."""
    text = text.strip()
    if not MONEY_TEXT.fullmatch(text):
        return None
    units, _, fraction = text.partition(".")
    cents = int(units) * 100 + int(fraction.ljust(2, "0") or 0)
    return cents if cents <= high else None


def attempt(action: Callable[[], T], success: str | Callable[[T], str], refusal: str | None = None) -> T | None:
    """Run a form post's service call and flash what happened: its success sentence, or the service's
    refusal (``refusal`` says it in the form's words instead). A record that is not there stays the
    404 page. Returns the call's result, None when refused."""
    try:
        result = action()
    except Problem as problem:
        if problem.status == 404:
            raise
        flash(refusal or problem.detail, "error")
        return None
    flash(success(result) if callable(success) else success, "success")
    return result


def form_blueprint(name: str, import_name: str) -> Blueprint:
    """A storefront blueprint whose form posts are checked for this session's CSRF token and NULs."""
    bp = Blueprint(name, import_name)
    bp.before_request(check_csrf)
    bp.before_request(check_form_text)
    return bp


# What each storefront form field asks for: said beside the field when its value does not fit.
FIELD_HINTS = {
    "name": "Enter a name, up to 120 characters.",
    "line1": "Enter the street and number.",
    "city": "Enter the city.",
    "postal_code": "Enter the postal code: letters, digits, spaces and hyphens.",
    "country": "Enter the country as two letters, e.g. GB.",
    "card_number": "Enter the 12 to 19 digits of the card number.",
    "exp_month": "Enter the expiry month as a number from 1 to 12.",
    "exp_year": "Enter the expiry year with four digits, e.g. 2030.",
    "cvc": "Enter the 3 or 4 digits printed on the back of the card.",
    "email": "Enter an e-mail address like name@example.com.",
    "password": "Choose a password of at least 8 characters.",
}


def field_errors(error: ValidationError) -> dict[str, str]:
    """A plain sentence for each field the shopper got wrong, keyed by the field's name."""
    errors: dict[str, str] = {}
    for item in error.errors(include_url=False):
        name = str(item["loc"][0]) if item["loc"] else "form"
        errors.setdefault(name, FIELD_HINTS.get(name, "Check this field."))
    return errors


def sentence(phrase: str) -> str:
    return phrase[:1].upper() + phrase[1:].rstrip(".") + "."


def refill(*secret_fields: str) -> dict[str, str]:
    """The posted form to fill the page again with, without the fields never sent back."""
    return {key: value for key, value in request.form.items() if key not in secret_fields}
