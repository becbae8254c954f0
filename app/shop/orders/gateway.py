"""Payment gateways: the interface the shop charges cards through, and a sandbox that behaves
like a real gateway (it validates cards, declines its test cards, and confirms some charges
only later, by a signed webhook)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ..columns import utcnow
from ..errors import Problem
from .webhooks import sign

SUCCEEDED = "succeeded"
FAILED = "failed"
REQUIRES_CONFIRMATION = "requires_confirmation"


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


class PaymentGateway(Protocol):
    name: str

    def charge(self, amount_cents: int, currency: str, card: Card, reference: str) -> Charge:
        """Charge the card; `reference` is the shop's own name for the attempt."""

    def refund(self, charge_reference: str, amount_cents: int, currency: str) -> str:
        """Give a succeeded charge back; returns the refund's reference."""


# The sandbox's published test cards; any other valid number is charged successfully.
SANDBOX_CARDS = {
    "4000000000000002": (FAILED, "card_declined: the card was declined"),
    "4000000000009995": (FAILED, "insufficient_funds: the card has insufficient funds"),
    "4000000000003220": (REQUIRES_CONFIRMATION, None),
}


def luhn_valid(number: str) -> bool:
    digits = [int(digit) for digit in reversed(number)]
    doubled = [digit * 2 - 9 if digit * 2 > 9 else digit * 2 for digit in digits[1::2]]
    return (sum(digits[0::2]) + sum(doubled)) % 10 == 0


class SandboxGateway:
    name = "sandbox"

    def __init__(self, clock: Callable[[], datetime] = utcnow):
        self.clock = clock

    def charge(self, amount_cents: int, currency: str, card: Card, reference: str) -> Charge:
        if not luhn_valid(card.number):
            raise CardRejected("card_number", "the card number is not valid")
        now = self.clock()
        if (card.exp_year, card.exp_month) < (now.year, now.month):
            raise CardRejected("exp_year", f"the card expired at the end of {card.exp_month:02d}/{card.exp_year}")
        status, reason = SANDBOX_CARDS.get(card.number, (SUCCEEDED, None))
        return Charge(f"ch_{secrets.token_hex(12)}", status, reason)

    def refund(self, charge_reference: str, amount_cents: int, currency: str) -> str:
        return f"re_{secrets.token_hex(12)}"

    @staticmethod
    def confirmation_event(charge_reference: str, outcome: str, secret: str, timestamp: int,
                           failure_reason: str | None = None) -> tuple[bytes, str]:
        """The signed webhook the sandbox sends when an asynchronous charge settles:
        the raw body and its signature header, ready to POST to the shop."""
        event = {
            "id": f"evt_{secrets.token_hex(12)}",
            "type": f"payment.{outcome}",
            "created": timestamp,
            "data": {"reference": charge_reference, "failure_reason": failure_reason},
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        return body, sign(body, secret, timestamp)
