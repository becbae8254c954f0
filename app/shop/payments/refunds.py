"""Refunds, made like payments: the refund is recorded (pending, with its own gateway idempotency
key) and committed, the gateway is called with nothing of ours open, and the result is recorded
with the order's move in a second transaction. The order moves only once its money is back; a
refund the gateway did not answer stays pending, for a retry or the reconciler to make."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from ..accounts.models import User
from ..columns import utcnow
from ..database import matched
from ..errors import Conflict
from ..extensions import db
from ..orders import service as orders
from ..orders import states
from ..outbox import record_event
from .gateway import GatewayError, GatewayUnavailable, PaymentGateway
from .models import PENDING, REFUNDED, SUCCEEDED, Payment, Refund


def owe_refunds(payments: list[Payment], order_status: str | None, cause: str, now: datetime) -> list[int]:
    """Record a pending refund of each payment in the caller's transaction; their ids."""
    refunds = [Refund(payment_id=payment.id, status=PENDING, amount_cents=payment.amount_cents,
                      currency=payment.currency, idempotency_key=f"re_{secrets.token_hex(20)}",
                      order_status=order_status, cause=cause, created_at=now, updated_at=now)
               for payment in payments]
    db.session.add_all(refunds)
    db.session.flush()
    return [refund.id for refund in refunds]


def pending_refunds(order_id: int) -> list[Refund]:
    return list(db.session.scalars(select(Refund).join(Payment).where(Payment.order_id == order_id,
                                                                      Refund.status == PENDING)))


def refund_order(order_id: int, viewer: User, to_status: str, cause: str, gateway: PaymentGateway,
                 now: datetime | None = None) -> dict[str, Any]:
    """Cancel or refund a paid order: its charges are given back first, then it moves."""
    now = now or utcnow()
    order = orders.find_order(order_id, viewer, full=True)
    if not states.can_move(order.status, to_status):
        db.session.rollback()
        raise orders.IllegalTransition(order.id, order.status, to_status)
    orders.lock(order, now)
    if any(payment.status == PENDING for payment in order.payments):
        db.session.rollback()
        raise Conflict(f"A payment for order {order.id} is being made; retry shortly.", current_status=order.status)
    resumed = pending_refunds(order.id)
    for refund in resumed:
        refund.order_status, refund.cause, refund.updated_at = to_status, cause, now
    refunding = {refund.payment_id for refund in resumed}
    owed = [refund.id for refund in resumed] + owe_refunds(
        [payment for payment in order.payments if payment.status == SUCCEEDED and payment.id not in refunding],
        to_status, cause, now)
    if not owed:
        # Marked paid with nothing charged (by hand, say): there is nothing to give back.
        returned = orders.apply_move(order, to_status, cause, now)
        document = orders.order_document(order)
        db.session.commit()
        orders.after_move(to_status, viewer, returned)
        return document
    db.session.commit()
    carry_out_refunds(owed, gateway, now, viewer)
    return orders.get_order(order_id, viewer)


def carry_out_refunds(refund_ids: list[int], gateway: PaymentGateway, now: datetime,
                      viewer: User | None = None) -> None:
    """Make these recorded refunds at the gateway, each under its own key, and record them.
    Raises GatewayUnavailable if the gateway does not answer (the refund stays pending)."""
    for refund_id in refund_ids:
        refund = db.session.get_one(Refund, refund_id, populate_existing=True)
        charge, amount, currency, key = (refund.payment.gateway_reference, refund.amount_cents, refund.currency,
                                         refund.idempotency_key)
        pending = refund.status == PENDING
        db.session.commit()
        if not pending:
            continue
        if charge is None:  # only a charge the gateway made is refunded, and it named it
            raise ValueError(f"refund {refund_id}: its payment has no gateway reference")
        try:
            reference = gateway.refund(charge, amount, currency, key)
        except GatewayError as error:
            raise GatewayUnavailable("the refund is not known to be made yet.") from error
        record_refund(refund_id, reference, now, viewer)


def record_refund(refund_id: int, reference: str, now: datetime, viewer: User | None = None) -> None:
    """The gateway made the refund: record it, and move the order once all its money is back."""
    made = matched(db.session.execute(
        update(Refund).where(Refund.id == refund_id, Refund.status == PENDING)
        .values(status=SUCCEEDED, gateway_reference=reference, updated_at=now)
    )) == 1
    if not made:
        db.session.rollback()
        return
    refund = db.session.get_one(Refund, refund_id, populate_existing=True)
    payment = refund.payment
    payment.status, payment.updated_at = REFUNDED, now
    order = payment.order
    record_event("payment.refunded", order_id=order.id, payment_id=payment.id, amount_cents=refund.amount_cents,
                 currency=refund.currency, refund_reference=reference)
    # The order moves once no refund of it is still pending.
    moving_to = refund.order_status
    if moving_to is not None and not (states.can_move(order.status, moving_to) and not pending_refunds(order.id)):
        moving_to = None
    returned = orders.apply_move(order, moving_to, refund.cause, now) if moving_to else {}
    db.session.commit()
    if moving_to:
        orders.after_move(moving_to, viewer, returned)
