"""The mail consumer: the e-mails the shop writes to the outbox (an order's confirmation, the link
that finishes an account on a guest's address) as events `*.…_email` with `to`, `subject` and
`text`. No mail relay is built in: the consumer writes each e-mail to the log (logger
`shop.mail`), which on the embedded default is where a shopper's mail can be read."""

from __future__ import annotations

import logging

from . import events
from .extensions import db
from .outbox import record_event

log = logging.getLogger(__name__)

# Every topic the shop writes e-mails to: the consumer's bindings.
EMAIL_TOPICS = ("order.confirmation_email", "account.claim_email")


def record_email(topic: str, to: str, subject: str, text: str, **extra: object) -> None:
    """Write an e-mail to the outbox and commit it; the mail consumer sends it."""
    if topic not in EMAIL_TOPICS:
        raise ValueError(f"{topic!r} is not an e-mail topic")
    record_event(topic, to=to, subject=subject, text=text, **extra)
    db.session.commit()


@events.consumer("mail.send", *EMAIL_TOPICS)
def send(event: events.Event) -> None:
    payload = event.payload
    log.info("e-mail %s to %s: %s\n%s", event.id, payload["to"], payload["subject"], payload["text"])
