"""The order confirmation e-mail: its text, rendered by the storefront, is written to the outbox
(`order.confirmation_email`) for the mail consumer (shop.mail) to send."""

from __future__ import annotations

from ..mail import record_email


def record_confirmation(order_id: int, to: str, subject: str, text: str) -> None:
    record_email("order.confirmation_email", to, subject, text, order_id=order_id)
