"""The backbone's tables: each consumer's inbox, and the events that ran out of retries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..columns import UtcDateTime, utcnow
from ..extensions import BaseModel


class InboxEntry(BaseModel):
    """An event a consumer has processed: committed with the handler's final changes."""

    __tablename__ = "event_inbox"
    __table_args__ = (UniqueConstraint("consumer", "event_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    consumer: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[int] = mapped_column(BigInteger)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DeadLetter(BaseModel):
    """An event a consumer failed on after its last retry, kept for staff to inspect and replay."""

    __tablename__ = "dead_letters"
    __table_args__ = (UniqueConstraint("consumer", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[int] = mapped_column(BigInteger)
    topic: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    first_failed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_failed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Set when staff replay it; cleared if the replay fails too (it is dead-lettered again).
    replayed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
