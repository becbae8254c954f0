"""Payment gateways: the interface the shop charges cards through.

Every call carries an idempotency key of the shop's choosing (as Stripe's and Adyen's APIs do):
calling again with the same key does nothing new and answers what the first call did, and
`lookup` tells what happened under a key, so a crash between a call and its result can be
resolved by asking."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from ..errors import Problem
from .models import FAILED, REQUIRES_CONFIRMATION, SUCCEEDED

__all__ = ["FAILED", "REQUIRES_CONFIRMATION", "SUCCEEDED", "Card", "CardRejected", "Charge", "GatewayError",
           "GatewayUnavailable", "PaymentGateway", "check_card", "luhn_valid"]


@dataclass(frozen=True)
class Card:
    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = field(repr=False)

    @property
    def last4(self) -> str:
        return self.number[-4:]


@dataclass(frozen=True)
class Charge:
    reference: str  # the gateway's id for the charge
    status: str  # succeeded | failed | requires_confirmation
    failure_reason: str | None = None


class CardRejected(Problem):
    """The gateway refused the card's details before trying to charge it."""

    def __init__(self, field_name: str, reason: str):
        super().__init__(422, "Invalid card", f"{field_name}: {reason}", type_="invalid-card",
                         field=field_name)
        self.field_name = field_name
        self.reason = reason


def luhn_valid(number: str) -> bool:
    digits = [int(digit) for digit in reversed(number)]
    doubled = [digit * 2 - 9 if digit * 2 > 9 else digit * 2 for digit in digits[1::2]]
    return (sum(digits[0::2]) + sum(doubled)) % 10 == 0


def check_card(card: Card, today: date) -> None:
    """Refuse the card details every gateway refuses before charging: a number failing the Luhn
    check, or a card past its expiry month. Checkout asks this before an order takes stock."""
    if not luhn_valid(card.number):
        raise CardRejected("card_number", "the card number is not valid")
    if (card.exp_year, card.exp_month) < (today.year, today.month):
        raise CardRejected("exp_year", f"the card expired at the end of {card.exp_month:02d}/{card.exp_year}")


class GatewayError(Exception):
    """The gateway could not be reached or did not answer: what happened is not known yet."""


class GatewayUnavailable(Problem):
    def __init__(self, what: str):
        super().__init__(502, "Payment gateway unavailable",
                         f"The payment gateway did not answer; {what} Retry with the same Idempotency-Key.",
                         type_="gateway-unavailable")


class PaymentGateway(Protocol):
    name: str

    def charge(self, amount_cents: int, currency: str, card: Card, idempotency_key: str) -> Charge:
        """Charge the card once per key; the same key again answers the same charge."""

    def lookup(self, idempotency_key: str) -> Charge | None:
        """The charge made under this key, or None if the gateway never made one."""

    def refund(self, charge_reference: str, amount_cents: int, currency: str, idempotency_key: str) -> str:
        """Give a succeeded charge back once per key; returns the refund's reference."""
