"""The audit consumer: every order and payment event lands in the order's event log, and the
order's count of events goes up by one. It proves the backbone's path end to end: the log row is an
intermediate step committed on its own ("insert if absent", as a carrier call would be), the count
commits with the inbox row, so a redelivery that double-counted would show."""

from __future__ import annotations

import os
from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from ..columns import UtcDateTime, utcnow
from ..extensions import BaseModel, db
from . import Event, Retry, consumer, faults

# Fault hook for the tests: events whose payload has this key fail (a poison message) while set.
POISON_ENV = "SHOP_EVENTS_FAULT_POISON"


class OrderEventLog(BaseModel):
    __tablename__ = "order_event_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    order_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    topic: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class OrderEventCount(BaseModel):
    __tablename__ = "order_event_counts"

    order_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    events: Mapped[int] = mapped_column(Integer, default=0)


@consumer("audit", "order.#", "payment.#")
def record_in_order_log(event: Event) -> None:
    order_id = event.payload.get("order_id")
    if os.environ.get(POISON_ENV) and os.environ[POISON_ENV] in event.payload:
        raise Retry(f"poison event {event.id}")
    first_delivery = db.session.scalar(select(OrderEventLog.id).where(OrderEventLog.event_id == event.id)) is None
    if first_delivery:
        db.session.add(OrderEventLog(event_id=event.id, order_id=order_id, topic=event.topic,
                                     occurred_at=event.occurred_at))
        db.session.commit()
        faults.pause_at(faults.AFTER_LOG, event)
    if order_id is None:
        return
    count = db.session.get(OrderEventCount, order_id, with_for_update=True)
    if count is None:
        count = OrderEventCount(order_id=order_id, events=0)
        db.session.add(count)
    count.events += 1
