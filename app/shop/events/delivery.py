"""Handing an event to a consumer: the inbox makes it once as an effect; failures are retried with
backoff and, past the consumer's last retry, dead-lettered into the `dead_letters` table.

No Flask imports: the caller provides the app context (the worker, or the relay in-process).
"""

from __future__ import annotations

import logging
import random

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..columns import utcnow
from ..extensions import db
from ..metrics import CONSUMER_EVENTS
from . import Consumer, Event
from .models import DeadLetter, InboxEntry

log = logging.getLogger(__name__)

PROCESSED, DUPLICATE, RETRIED, DEAD_LETTERED = "processed", "duplicate", "retried", "dead_lettered"


def deliver(consumer: Consumer, event: Event) -> str:
    """Run `consumer` on `event` unless its inbox has it; the inbox row commits with the handler's
    final changes. Returns PROCESSED or DUPLICATE; raises what the handler raised (rolled back)."""
    if _in_inbox(consumer.name, event.id):
        db.session.rollback()
        CONSUMER_EVENTS.labels(consumer.name, DUPLICATE).inc()
        return DUPLICATE
    try:
        consumer.handle(event)
        db.session.add(InboxEntry(consumer=consumer.name, event_id=event.id))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if not _in_inbox(consumer.name, event.id):
            raise
        # Another delivery of the same event committed first; this one's changes are dropped.
        db.session.rollback()
        CONSUMER_EVENTS.labels(consumer.name, DUPLICATE).inc()
        return DUPLICATE
    except BaseException:
        db.session.rollback()
        raise
    CONSUMER_EVENTS.labels(consumer.name, PROCESSED).inc()
    return PROCESSED


def _in_inbox(consumer: str, event_id: int) -> bool:
    return db.session.scalar(select(InboxEntry.id).where(InboxEntry.consumer == consumer,
                                                         InboxEntry.event_id == event_id)) is not None


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """Delay before retry number `attempt` (1, 2, ...): exponential, capped, with "equal jitter"
    (half fixed, half random) so consumers failing together do not retry together."""
    delay = min(cap, base * 2 ** (attempt - 1))
    return delay / 2 + random.uniform(0, delay / 2)


def dead_letter(consumer: Consumer, event: Event, error: BaseException | str, attempts: int) -> DeadLetter:
    """Keep `event` for staff: one row per (consumer, event); a replay that fails again updates it."""
    db.session.rollback()
    now = utcnow()
    letter = db.session.scalar(select(DeadLetter).where(DeadLetter.consumer == consumer.name,
                                                        DeadLetter.event_id == event.id).with_for_update())
    if letter is None:
        letter = DeadLetter(consumer=consumer.name, event_id=event.id, topic=event.topic, payload=event.payload,
                            occurred_at=event.occurred_at, first_failed_at=now, attempts=0)
        db.session.add(letter)
    letter.error = _describe(error)
    letter.attempts += attempts
    letter.last_failed_at = now
    letter.replayed_at = None
    db.session.commit()
    CONSUMER_EVENTS.labels(consumer.name, DEAD_LETTERED).inc()
    log.warning("event %s (%s) dead-lettered for consumer %s: %s", event.id, event.topic, consumer.name,
                letter.error)
    return letter


def _describe(error: BaseException | str) -> str:
    if isinstance(error, str):
        return error
    return f"{type(error).__name__}: {error}"[:2000]


def deliver_in_process(consumers: list[Consumer], event: Event) -> dict[str, str]:
    """The embedded default (no broker): each consumer that wants the event runs it now; a failure is
    retried at once, up to the consumer's max_retries, then dead-lettered. Outcome per consumer."""
    outcomes = {}
    for consumer in consumers:
        if not consumer.wants(event.topic):
            continue
        for attempt in range(1, consumer.max_retries + 2):
            try:
                outcomes[consumer.name] = deliver(consumer, event)
                break
            except Exception as failure:  # noqa: BLE001 - any handler failure is retried, then parked
                if attempt > consumer.max_retries:
                    dead_letter(consumer, event, failure, attempt)
                    outcomes[consumer.name] = DEAD_LETTERED
                else:
                    CONSUMER_EVENTS.labels(consumer.name, RETRIED).inc()
    return outcomes


def dead_letters_waiting() -> dict[str, int]:
    """Dead letters not replayed yet, by consumer."""
    rows = db.session.execute(select(DeadLetter.consumer, func.count()).where(DeadLetter.replayed_at.is_(None))
                              .group_by(DeadLetter.consumer))
    return {consumer: count for consumer, count in rows}


def event_of(letter: DeadLetter) -> Event:
    return Event(letter.event_id, letter.topic, dict(letter.payload), letter.occurred_at)


def as_message(event: Event) -> dict:
    return {"id": event.id, "topic": event.topic, "payload": event.payload,
            "occurred_at": event.occurred_at.isoformat()}

