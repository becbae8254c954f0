"""The sandbox gateway: behaves like a real one (it validates cards, declines its test cards,
confirms some charges only later by a signed webhook, and charges or refunds a key only once),
and keeps its ledger in a table of its own, written in its own transactions as a remote
gateway's would be, so any process can ask it what happened."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Row, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from ..columns import UtcDateTime, utcnow
from ..extensions import BaseModel, db
from .gateway import FAILED, REQUIRES_CONFIRMATION, SUCCEEDED, Card, Charge, check_card
from .models import insert_once
from .webhooks import sign

# The sandbox's published test cards; any other valid number is charged successfully.
SANDBOX_CARDS = {
    "4000000000000002": (FAILED, "card_declined: the card was declined"),
    "4000000000009995": (FAILED, "insufficient_funds: the card has insufficient funds"),
    "4000000000003220": (REQUIRES_CONFIRMATION, None),
}


class SandboxEntry(BaseModel):
    """The sandbox's ledger: one charge or refund per idempotency key."""

    __tablename__ = "sandbox_charges"

    idempotency_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # charge | refund
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(32))
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SandboxGateway:
    name = "sandbox"

    def __init__(self, clock: Callable[[], datetime] = utcnow):
        self.clock = clock

    def charge(self, amount_cents: int, currency: str, card: Card, idempotency_key: str) -> Charge:
        made = self.lookup(idempotency_key)
        if made is not None:
            return made
        check_card(card, self.clock())
        status, reason = SANDBOX_CARDS.get(card.number, (SUCCEEDED, None))
        kept = self._keep(idempotency_key, "charge", f"ch_{secrets.token_hex(12)}", status, reason, amount_cents,
                          currency)
        return Charge(kept.reference, kept.status, kept.failure_reason)

    def lookup(self, idempotency_key: str) -> Charge | None:
        entry = self._entry(idempotency_key, "charge")
        return None if entry is None else Charge(entry.reference, entry.status, entry.failure_reason)

    def refund(self, charge_reference: str, amount_cents: int, currency: str, idempotency_key: str) -> str:
        entry = self._keep(idempotency_key, "refund", f"re_{secrets.token_hex(12)}", SUCCEEDED, None,
                           amount_cents, currency)
        return str(entry.reference)

    def awaiting_confirmation(self, made_before: datetime) -> list[str]:
        """The charges still awaiting the bank's confirmation that were made before this time."""
        with db.engine.connect() as connection:
            return list(connection.scalars(select(SandboxEntry.reference).where(
                SandboxEntry.kind == "charge", SandboxEntry.status == REQUIRES_CONFIRMATION,
                SandboxEntry.created_at <= made_before).order_by(SandboxEntry.created_at)))

    def confirm(self, reference: str) -> None:
        """The bank confirmed the charge: the ledger says it succeeded."""
        with db.engine.begin() as connection:
            connection.execute(update(SandboxEntry).where(SandboxEntry.reference == reference,
                                                          SandboxEntry.status == REQUIRES_CONFIRMATION)
                               .values(status=SUCCEEDED))

    def entries(self, kind: str) -> list[Row[Any]]:
        """Every charge or refund the sandbox made, oldest first (what a gateway's dashboard shows)."""
        with db.engine.connect() as connection:
            return list(connection.execute(select(SandboxEntry).where(SandboxEntry.kind == kind)
                                           .order_by(SandboxEntry.created_at)).all())

    def _entry(self, idempotency_key: str, kind: str) -> Row[Any] | None:
        with db.engine.connect() as connection:
            return connection.execute(select(SandboxEntry).where(
                SandboxEntry.idempotency_key == idempotency_key, SandboxEntry.kind == kind)).first()

    def _keep(self, idempotency_key: str, kind: str, reference: str, status: str, reason: str | None,
              amount_cents: int, currency: str) -> Row[Any]:
        """The entry under this key: this one, or the one a concurrent twin kept first.

        A connection and transaction of the sandbox's own: what it made stays made, whatever
        becomes of the shop's transaction."""
        with db.engine.begin() as connection:
            connection.execute(insert_once(SandboxEntry, idempotency_key=idempotency_key, kind=kind,
                                           reference=reference, status=status, failure_reason=reason,
                                           amount_cents=amount_cents, currency=currency,
                                           created_at=self.clock()))
            return connection.execute(select(SandboxEntry).where(
                SandboxEntry.idempotency_key == idempotency_key, SandboxEntry.kind == kind)).one()

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
