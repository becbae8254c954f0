"""Dead letters for staff: list, inspect, replay. A replay re-publishes the event to its consumer
only; the letter is marked replayed (and committed) before the broker is called, so two replays
never publish twice, and a replay that fails again puts the letter back (dead_letter() clears it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from ..columns import iso, utcnow
from ..errors import Conflict, NotFound, Problem
from ..extensions import db
from . import consumers
from .delivery import deliver_in_process, event_of
from .models import DeadLetter

WAITING, REPLAYED = "waiting", "replayed"


def list_dead_letters(page: int, per_page: int, consumer: str | None = None,
                      status: str | None = None) -> tuple[list[dict[str, Any]], int]:
    """Newest failure first."""
    query = select(DeadLetter)
    if consumer:
        query = query.where(DeadLetter.consumer == consumer)
    if status == WAITING:
        query = query.where(DeadLetter.replayed_at.is_(None))
    elif status == REPLAYED:
        query = query.where(DeadLetter.replayed_at.is_not(None))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    letters = db.session.scalars(query.order_by(DeadLetter.last_failed_at.desc(), DeadLetter.id.desc())
                                 .limit(per_page).offset((page - 1) * per_page))
    items = [describe(letter) for letter in letters]
    db.session.commit()
    return items, total or 0


def get_dead_letter(letter_id: int) -> dict[str, Any]:
    letter = db.session.get(DeadLetter, letter_id)
    if letter is None:
        raise NotFound("Dead letter", letter_id)
    document = describe(letter)
    db.session.commit()
    return document


def replay_dead_letter(letter_id: int, broker_url: str) -> dict[str, Any]:
    """Re-deliver the letter's event to its consumer; a letter already replayed is left as it is."""
    letter = db.session.get(DeadLetter, letter_id, with_for_update=True)
    if letter is None:
        raise NotFound("Dead letter", letter_id)
    if letter.replayed_at is not None:
        document = describe(letter)
        db.session.commit()
        return document
    consumer = consumers().get(letter.consumer)
    if consumer is None:
        db.session.rollback()
        raise Conflict(f"consumer {letter.consumer!r} is not installed any more; the letter cannot be replayed",
                       field="consumer")
    event = event_of(letter)
    letter.replayed_at = replayed_at = utcnow()
    db.session.commit()
    if broker_url:
        _publish(letter_id, replayed_at, consumer, event, broker_url)
    else:
        deliver_in_process([consumer], event)
    return get_dead_letter(letter_id)


def _publish(letter_id: int, replayed_at, consumer, event, broker_url: str) -> None:
    from .broker import publisher

    try:
        with publisher(broker_url, [consumer]) as out:
            out.send_to(consumer, event)
    except Exception as failure:  # noqa: BLE001 - any broker failure: the letter waits for another replay
        db.session.execute(update(DeadLetter).where(DeadLetter.id == letter_id, DeadLetter.replayed_at == replayed_at)
                           .values(replayed_at=None))
        db.session.commit()
        raise Problem(503, "Broker unavailable", f"The event could not be sent to its consumer ({failure}); "
                      "the dead letter is kept: replay it again later.", type_="broker-unavailable") from failure


def describe(letter: DeadLetter) -> dict[str, Any]:
    return {
        "id": letter.id, "consumer": letter.consumer, "event_id": letter.event_id, "topic": letter.topic,
        "payload": letter.payload, "occurred_at": iso(letter.occurred_at), "error": letter.error,
        "attempts": letter.attempts, "first_failed_at": iso(letter.first_failed_at),
        "last_failed_at": iso(letter.last_failed_at), "replayed_at": iso(letter.replayed_at),
    }
