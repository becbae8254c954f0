"""Read-only counts over orders and stock for the operations side (the /metrics scrape)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from ..catalog.models import Product
from ..columns import utcnow
from ..extensions import db
from . import states
from .models import Order


def state_counts(shipping_deadline_seconds: int) -> dict[str, int]:
    """Counts that should all stay at zero: orders the expiry sweep missed, paid orders not shipped
    in time, oversold products."""
    now = utcnow()
    queries = {
        "pending_payment_overdue": select(func.count()).where(Order.status == states.PENDING_PAYMENT,
                                                              Order.reserved_until <= now),
        "paid_unshipped_overdue": select(func.count()).where(
            Order.status == states.PAID, Order.updated_at <= now - timedelta(seconds=shipping_deadline_seconds)),
        "negative_stock": select(func.count()).select_from(Product).where(Product.stock < 0),
    }
    try:
        return {name: db.session.scalar(query) or 0 for name, query in queries.items()}
    finally:
        db.session.rollback()


def orders_by_status() -> dict[str, int]:
    """How many orders are in each state (every state named, zero or not)."""
    try:
        counts = dict(db.session.execute(select(Order.status, func.count()).group_by(Order.status)).all())
        return {status: counts.get(status, 0) for status in states.STATES}
    finally:
        db.session.rollback()
