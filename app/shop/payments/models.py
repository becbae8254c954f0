"""Payments: each attempt to charge a card, each refund of a charge, the gateway events applied.

An attempt or a refund is written (pending, with its own gateway idempotency key) and committed
before the gateway is called, so a crash between the call and its result leaves a row the
reconciler can finish by asking the gateway what happened under that key.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..columns import UtcDateTime, iso, utcnow
from ..extensions import BaseModel, db

if TYPE_CHECKING:
    from ..orders.models import Order

# An attempt's life: pending -> succeeded | failed | requires_confirmation (-> succeeded | failed)
# and succeeded -> refunded; a refund's: pending -> succeeded.
PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"
REQUIRES_CONFIRMATION = "requires_confirmation"
REFUNDED = "refunded"


class Payment(BaseModel):
    """One attempt to charge a card for an order."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    gateway: Mapped[str] = mapped_column(String(32))
    # Sent with the charge: the gateway charges a key once, and answers for it when asked.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    # The gateway's id for the charge; empty until the gateway has answered.
    gateway_reference: Mapped[str | None] = mapped_column(String(64), unique=True)
    card_last4: Mapped[str] = mapped_column(String(4))
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    order: Mapped[Order] = relationship(back_populates="payments")
    refunds: Mapped[list[Refund]] = relationship(back_populates="payment", order_by="Refund.id")


class Refund(BaseModel):
    """Giving a succeeded charge back, and what the order does once the money is back."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    # The gateway's id for the refund; empty until the gateway has answered.
    gateway_reference: Mapped[str | None] = mapped_column(String(64))
    # The state the order moves to once every refund of it is made (none: it has moved already).
    order_status: Mapped[str | None] = mapped_column(String(24))
    cause: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    payment: Mapped[Payment] = relationship(back_populates="refunds")


class WebhookEvent(BaseModel):
    """Payment webhook events already applied, so a replayed event has no second effect."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


def payment_document(payment: Payment) -> dict[str, Any]:
    return {"id": payment.id, "status": payment.status, "amount_cents": payment.amount_cents,
            "currency": payment.currency, "gateway": payment.gateway,
            "gateway_reference": payment.gateway_reference, "card_last4": payment.card_last4,
            "failure_reason": payment.failure_reason, "created_at": iso(payment.created_at)}


def insert_once(model: type[BaseModel], **row: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that does nothing when the primary key or a unique key is taken."""
    if db.engine.dialect.name == "postgresql":
        return postgresql.insert(model).values(**row).on_conflict_do_nothing()
    return sqlite.insert(model).values(**row).on_conflict_do_nothing()
