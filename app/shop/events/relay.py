"""The outbox relay: committed events go to RabbitMQ (publisher confirms), or, on the embedded
default with no broker, straight to the consumers in this process.

Several relays may run at once: each takes a batch of unpublished events with row locks that skip
locked rows (PostgreSQL), so no two publish the same event together; an event published but not
yet marked when a relay dies is published again, and the consumers' inboxes make that a no-op.
"""

from __future__ import annotations

from sqlalchemy import update

from ..columns import utcnow
from ..extensions import db
from ..outbox import OutboxEvent, unpublished_events
from . import Event, consumers
from .delivery import deliver_in_process


def relay_events(broker_url: str, batch: int = 100) -> int:
    """Relay up to `batch` events; the number relayed."""
    registered = list(consumers().values())
    rows = unpublished_events(batch)
    pending = [_event_of(row) for row in rows]
    if not pending:
        db.session.rollback()
        return 0
    if not broker_url:
        return _deliver_here(registered, pending)
    from .broker import publisher

    published = 0
    try:
        with publisher(broker_url, registered) as out:
            for event, row in zip(pending, rows, strict=True):
                out.publish(event)
                row.published_at = utcnow()
                published += 1
    finally:
        # What RabbitMQ confirmed is marked even if a later publish failed.
        db.session.commit()
    return published


def _deliver_here(registered, pending: list[Event]) -> int:
    # Each event is marked only after its consumers ran (at least once; the inboxes make it once).
    for event in pending:
        deliver_in_process(registered, event)
        db.session.execute(update(OutboxEvent).where(OutboxEvent.id == event.id).values(published_at=utcnow()))
        db.session.commit()
    return len(pending)


def _event_of(row: OutboxEvent) -> Event:
    return Event(row.id, row.topic, dict(row.payload), row.created_at)
