"""The reconciler: finishes what a crash (or a gateway that did not answer) left pending, by
asking the gateway what happened under each pending key. It runs in the periodic sweep and as
`flask payments reconcile`; running it twice, or beside a retry, changes nothing twice."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ..columns import utcnow
from ..database import matched
from ..extensions import db
from ..metrics import PAYMENTS
from .gateway import GatewayError, GatewayUnavailable, PaymentGateway
from .models import FAILED, PENDING, Payment, Refund
from .refunds import carry_out_refunds
from .service import record_charge

log = logging.getLogger(__name__)

# How many pending attempts and refunds one run looks at.
RECONCILE_BATCH = 200


@dataclass(frozen=True)
class Reconciled:
    charges: int = 0  # attempts the gateway had charged (or declined): recorded
    abandoned: int = 0  # attempts that never reached the gateway: failed
    refunds: int = 0  # refunds made and recorded


def reconcile_payments(gateway: PaymentGateway, grace_seconds: int, now: datetime | None = None) -> Reconciled:
    """Resolve the attempts and refunds pending for longer than `grace_seconds` (younger ones
    may still be in a request's hands)."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=grace_seconds)
    attempts = db.session.execute(select(Payment.id, Payment.idempotency_key).where(
        Payment.status == PENDING, Payment.created_at <= cutoff).order_by(Payment.id).limit(RECONCILE_BATCH)).all()
    refund_ids = list(db.session.scalars(select(Refund.id).where(
        Refund.status == PENDING, Refund.created_at <= cutoff).order_by(Refund.id).limit(RECONCILE_BATCH)))
    db.session.commit()
    charges = abandoned = refunds = 0
    try:
        for payment_id, key in attempts:
            charge = gateway.lookup(key)
            if charge is not None:
                record_charge(payment_id, charge, gateway, now)
                charges += 1
            elif _abandon(payment_id, now):
                abandoned += 1
        for refund_id in refund_ids:
            carry_out_refunds([refund_id], gateway, now)
            refunds += 1
    except (GatewayError, GatewayUnavailable) as error:
        log.warning("the payment gateway did not answer (%s); the next run goes on", error)
    return Reconciled(charges, abandoned, refunds)


def _abandon(payment_id: int, now: datetime) -> bool:
    abandoned = matched(db.session.execute(
        update(Payment).where(Payment.id == payment_id, Payment.status == PENDING)
        .values(status=FAILED, failure_reason="abandoned: the charge never reached the gateway", updated_at=now)
    )) == 1
    db.session.commit()
    if abandoned:
        PAYMENTS.labels(outcome="abandoned").inc()
    return abandoned
