"""The order confirmation e-mail: its text, rendered by the storefront, is written to the outbox
(`order.confirmation_email`) for the mail consumer to send; on the embedded default the event
handler logs it."""

from __future__ import annotations

from ..extensions import db
from ..outbox import record_event


def record_confirmation(order_id: int, to: str, subject: str, text: str) -> None:
    record_event("order.confirmation_email", order_id=order_id, to=to, subject=subject, text=text)
    db.session.commit()
