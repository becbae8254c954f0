"""Paying from a storefront form: the card fields read and charged through the payments
service; the outcome is a flash message on the order page. Used by checkout and the order
page's pay-again form."""

from __future__ import annotations

from datetime import date

from flask import flash, request
from pydantic import ValidationError

from ..columns import utcnow
from ..errors import Problem
from ..extensions import payment_gateway
from ..numbers import whole_number
from ..payments import service as payments
from ..payments.gateway import REQUIRES_CONFIRMATION, Card, CardRejected, check_card
from ..payments.schemas import CardPayment
from .forms import field_errors, sentence

CARD_FIELDS = ("card_number", "exp_month", "exp_year", "cvc")


def card_from_form(today: date) -> Card:
    """The card in the form, checked as the gateway checks it before charging (Luhn, expiry):
    raises ValidationError or CardRejected."""
    raw = {key: request.form.get(key, "").replace(" ", "") for key in CARD_FIELDS}
    for key in ("exp_month", "exp_year"):
        number = whole_number(raw[key])
        raw[key] = raw[key] if number is None else number
    data = CardPayment.model_validate(raw)
    card = Card(data.card_number, data.exp_month, data.exp_year, data.cvc)
    check_card(card, today)
    return card


def card_errors() -> dict[str, str]:
    """A sentence per card field the shopper got wrong; none for a card worth charging."""
    try:
        card_from_form(utcnow().date())
    except ValidationError as error:
        return field_errors(error)
    except CardRejected as rejected:
        return {rejected.field_name: sentence(rejected.reason)}
    return {}


def pay(order_id: int, user) -> None:
    """Charge the card in the form; the outcome is a flash message on the order page."""
    errors = card_errors()
    if errors:
        flash(" ".join(errors.values()), "error")
        return
    try:
        _, status = payments.pay_order(order_id, user, card_from_form(utcnow().date()), payment_gateway())
    except Problem as problem:
        flash(f"Payment failed: {problem.detail}", "error")
        return
    if status == REQUIRES_CONFIRMATION:
        flash("Your bank is confirming the payment.", "success")
    else:
        flash("Thank you! Your order is paid.", "success")
