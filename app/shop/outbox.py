"""The transactional outbox: events are written in the same transaction as the change they
describe, then relayed to the broker. A broker outage delays events; it never loses them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from .columns import UtcDateTime, utcnow
from .extensions import BaseModel, db


class OutboxEvent(BaseModel):
    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)


# A Core insert into the table, built once: an ORM insert with values() is built, keyed and sent
# through the ORM's bulk path again for every event.
_INSERT_EVENT = insert(OutboxEvent.__table__)


def record_event(topic: str, **payload: Any) -> None:
    """Write an event in the current transaction; it is published after the commit."""
    db.session.execute(_INSERT_EVENT, {"topic": topic, "payload": payload})
    db.session.info["outbox_pending"] = True


def unpublished_events(limit: int = 100) -> list[OutboxEvent]:
    query = (
        select(OutboxEvent)
        .where(OutboxEvent.published_at.is_(None))
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        # Two relays never publish the same event twice at once.
        query = query.with_for_update(skip_locked=True)
    return list(db.session.scalars(query))
