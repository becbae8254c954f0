"""Paying an order by card, in three steps so that no lock is held while the gateway is called:

1. the attempt is recorded (pending, with its own gateway idempotency key) and committed, the
   order checked under a short lock;
2. the gateway is called with that key and nothing of ours open;
3. the outcome is recorded and the order moved, in a second transaction.

A crash between 2 and 3 leaves a pending attempt, which a retry with the same Idempotency-Key
resumes (the gateway answers the same charge for the same key) or the reconciler finishes.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import selectinload

from .. import idempotency
from ..accounts.models import User
from ..columns import utcnow
from ..database import matched
from ..errors import Conflict, NotFound, Problem
from ..extensions import db
from ..metrics import PAYMENTS, PAYMENTS_FAILED
from ..orders import service as orders
from ..orders import states
from ..orders.models import Order
from ..outbox import record_event
from .gateway import Card, CardRejected, Charge, GatewayError, GatewayUnavailable, PaymentGateway
from .models import (
    FAILED,
    PENDING,
    REQUIRES_CONFIRMATION,
    SUCCEEDED,
    Payment,
    WebhookEvent,
    insert_once,
    payment_document,
)
from .refunds import carry_out_refunds, owe_refunds
from .sandbox import SandboxGateway


class PaymentFailed(Problem):
    def __init__(self, order_id: int, payment_id: int, reason: str):
        super().__init__(402, "Payment failed", f"The payment for order {order_id} failed: {reason}",
                         type_="payment-failed", order_id=order_id, payment_id=payment_id, reason=reason)


def attempt_key(customer_id: int, order_id: int, request_key: str | None) -> str:
    """The gateway idempotency key of an attempt: derived from the request's own Idempotency-Key,
    so a retry of the request resumes the same attempt; fresh for a request without one."""
    if request_key is None:
        return f"pay_{secrets.token_hex(20)}"
    return "pay_" + hashlib.sha256(f"{customer_id}:{order_id}:{request_key}".encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Attempt:
    """What the gateway call needs of an attempt, read before its commit: nothing is read
    (so no transaction opens) while the gateway is called."""

    id: int
    status: str
    amount_cents: int
    currency: str
    idempotency_key: str


def pay_order(order_id: int, customer: User, card: Card, gateway: PaymentGateway, request_key: str | None = None,
              now: datetime | None = None) -> tuple[dict[str, Any], str]:
    """Charge the card for the order: (the payment and order, the charge's status).

    A declined card is recorded (and raises PaymentFailed after the commit); the order stays
    pending payment so the customer can try another card.
    """
    now = now or utcnow()
    attempt = _start_attempt(order_id, customer, card, gateway.name, attempt_key(customer.id, order_id, request_key),
                             now)
    if attempt.status == PENDING:
        try:
            charge = gateway.charge(attempt.amount_cents, attempt.currency, card, attempt.idempotency_key)
        except CardRejected:
            _forget_attempt(attempt.id)
            PAYMENTS.labels(outcome="invalid_card").inc()
            raise
        except GatewayError as error:
            raise GatewayUnavailable("the payment is not known to be made yet.") from error
        document = record_charge(attempt.id, charge, gateway, now)
    else:
        document = _documents(attempt.id)
        db.session.commit()
    if document["payment"]["status"] == FAILED:
        raise PaymentFailed(order_id, document["payment"]["id"], document["payment"]["failure_reason"] or "declined")
    return document, document["payment"]["status"]


def _start_attempt(order_id: int, customer: User, card: Card, gateway_name: str, key: str,
                   now: datetime) -> Attempt:
    """Step 1: the attempt under this key (resumed if a retry made it already), committed."""
    payment = db.session.scalar(select(Payment).where(Payment.idempotency_key == key))
    if payment is None:
        order = orders.find_order(order_id, customer, full=True)
        if order.status != states.PENDING_PAYMENT:
            db.session.rollback()
            raise orders.IllegalTransition(order.id, order.status, states.PAID)
        orders.lock(order, now)
        db.session.refresh(order, ["payments"])
        if any(payment.status in (PENDING, REQUIRES_CONFIRMATION) for payment in order.payments):
            db.session.rollback()
            raise Conflict(f"A payment for order {order.id} is being made or awaits the bank's confirmation.",
                           current_status=order.status)
        payment = Payment(order_id=order.id, status=PENDING, amount_cents=order.total_cents,
                          currency=order.currency, gateway=gateway_name, idempotency_key=key, card_last4=card.last4,
                          created_at=now, updated_at=now)
        db.session.add(payment)
        db.session.flush()
    attempt = Attempt(payment.id, payment.status, payment.amount_cents, payment.currency, payment.idempotency_key)
    db.session.commit()
    return attempt


def _forget_attempt(payment_id: int) -> None:
    """The gateway refused the card's details without charging: there is nothing to keep."""
    db.session.execute(delete(Payment).where(Payment.id == payment_id, Payment.status == PENDING))
    db.session.commit()


def _documents(payment_id: int) -> dict[str, Any]:
    payment = db.session.scalars(select(Payment).where(Payment.id == payment_id).options(
        selectinload(Payment.order).selectinload(Order.lines),
        selectinload(Payment.order).selectinload(Order.transitions),
        selectinload(Payment.order).selectinload(Order.payments))).one()
    return {"payment": payment_document(payment), "order": orders.order_document(payment.order)}


def record_charge(payment_id: int, charge: Charge, gateway: PaymentGateway, now: datetime) -> dict[str, Any]:
    """Step 3: the gateway's answer for a pending attempt recorded, the order moved, committed
    (with the request's idempotent answer). Recording twice is harmless: only the first counts."""
    recorded = matched(db.session.execute(
        update(Payment).where(Payment.id == payment_id, Payment.status == PENDING)
        .values(status=charge.status, gateway_reference=charge.reference, failure_reason=charge.failure_reason,
                updated_at=now)
    )) == 1
    refunds = _settle(payment_id, charge.status, "payment succeeded", now) if recorded else []
    document = _documents(payment_id)
    if charge.status != FAILED:  # a declined card answers the 402 problem raised after the commit
        idempotency.keep_answer(document)
    db.session.commit()
    if recorded:
        _count(charge.status)
    carry_out_refunds(refunds, gateway, now)
    return document


def _settle(payment_id: int, status: str, cause: str, now: datetime) -> list[int]:
    """Move the order as the payment's new status says; the refunds now owed (a charge that
    succeeded for an order cancelled meanwhile), to be made after the commit."""
    payment = db.session.get_one(Payment, payment_id, populate_existing=True)
    order = payment.order
    if status == FAILED:
        record_event("payment.failed", order_id=order.id, payment_id=payment.id, reason=payment.failure_reason)
    elif status == SUCCEEDED:
        if order.status == states.PENDING_PAYMENT:
            orders.apply_move(order, states.PAID, cause, now)
        else:
            return owe_refunds([payment], None, f"paid after the order was {order.status}", now)
    return []


def _count(status: str) -> None:
    PAYMENTS.labels(outcome=status).inc()
    if status == FAILED:
        PAYMENTS_FAILED.inc()


# --- webhooks ---------------------------------------------------------------------------------

def apply_payment_event(event_id: str, event_type: str, charge_reference: str, failure_reason: str | None,
                        gateway: PaymentGateway, now: datetime | None = None) -> str:
    """Apply a verified gateway event once: applied | duplicate | ignored."""
    now = now or utcnow()
    # Recording the event id in the same transaction as its effect makes a replay a no-op; a
    # concurrent twin waits on the primary key and then finds it taken.
    inserted = db.session.execute(
        insert_once(WebhookEvent, id=event_id, type=event_type, received_at=now).returning(WebhookEvent.id)
    ).scalar()
    if inserted is None:
        db.session.rollback()
        return "duplicate"
    outcome = {"payment.succeeded": SUCCEEDED, "payment.failed": FAILED}.get(event_type)
    settled = None if outcome is None else db.session.execute(
        update(Payment).where(Payment.gateway_reference == charge_reference, Payment.status == REQUIRES_CONFIRMATION)
        .values(status=outcome, updated_at=now,
                failure_reason=(failure_reason or "declined by the bank") if outcome == FAILED else None)
        .returning(Payment.id)
    ).scalar()
    if outcome is None or settled is None:
        db.session.commit()
        return "ignored"
    refunds = _settle(settled, outcome, "payment confirmed", now)
    db.session.commit()
    _count(outcome)
    # The event is applied whatever the gateway says; a refund it did not make, the reconciler makes.
    with contextlib.suppress(GatewayUnavailable):
        carry_out_refunds(refunds, gateway, now)
    return "applied"


def sandbox_settlement(payment_id: int, outcome: str, secret: str, timestamp: int) -> tuple[bytes, str]:
    """The signed webhook the sandbox would send when this payment settles (for demos and tests)."""
    reference = db.session.scalar(select(Payment.gateway_reference).where(Payment.id == payment_id))
    db.session.commit()
    if reference is None:
        raise NotFound("Payment", payment_id)
    reason = "card_declined: the bank refused the charge" if outcome == FAILED else None
    return SandboxGateway.confirmation_event(reference, outcome, secret, timestamp, reason)


def confirm_due_sandbox_charges(gateway: SandboxGateway, delay_seconds: int, now: datetime | None = None) -> int:
    """The sandbox's bank at work: each charge awaiting confirmation for `delay_seconds` is
    confirmed, and the event the sandbox sends for it applied as a webhook's is. The event's id
    is the charge's, so a run repeated after a crash applies nothing twice. Returns how many
    payments it settled."""
    now = now or utcnow()
    settled = 0
    for reference in gateway.awaiting_confirmation(now - timedelta(seconds=delay_seconds)):
        if apply_payment_event(f"evt_confirm_{reference}", "payment.succeeded", reference, None, gateway,
                               now) == "applied":
            settled += 1
        gateway.confirm(reference)
    return settled
