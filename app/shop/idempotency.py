"""Idempotency-Key for unsafe requests, with the semantics of Stripe and the IETF draft
(draft-ietf-httpapi-idempotency-key-header).

A customer's key names one request. The first request with it claims the key in a transaction of
its own, committed before any work starts, so the unique constraint on (customer, key) lets exactly
one request in; then it does the work, which stores the answer in the same transaction as its
effect (keep_answer), so a failure after that commit still replays the answer. The claim is a
lease: a request that dies holding it frees the key for a retry once the lease runs out.
Afterwards the same key:

- with the same request gets the stored answer again (status and body), marked as replayed;
- with a different request is refused (422): a key cannot be reused for something else;
- while the first is still being answered (within its lease) is refused (409): retry later.

An answer of 5xx is not stored (the key is forgotten) so that a retry can run the work again.
Keys expire after a TTL; an expired key counts as new, and the periodic sweep purges them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from .columns import utcnow
from .database import matched
from .errors import Conflict, Problem
from .extensions import db
from .orders.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Where the session keeps the key being served while its work runs.
SERVING = "idempotency_serving"
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    replayed: bool = False


def fingerprint(secret: str, method: str, path: str, canonical_body: str) -> str:
    """What identifies the request. Keyed, so a stored fingerprint reveals nothing of the body
    (a card number, say) to anyone without the shop's secret."""
    message = f"{method} {path}\n{canonical_body}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise Problem(400, "Bad Idempotency-Key",
                      f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.",
                      type_="bad-idempotency-key", field=HEADER)


def _claim(customer_id: int, key: str, request_fingerprint: str, ttl_seconds: int, lease_seconds: int,
           now: datetime) -> int | IdempotencyRecord:
    """Our record's id (new, or taken over from a request that held it past its lease), or the
    live record another request holds or has answered."""
    for _attempt in range(3):
        try:
            record_id = db.session.execute(
                insert(IdempotencyRecord).values(
                    customer_id=customer_id, key=key, request_fingerprint=request_fingerprint,
                    created_at=now, expires_at=now + timedelta(seconds=ttl_seconds),
                    locked_until=now + timedelta(seconds=lease_seconds),
                ).returning(IdempotencyRecord.id)
            ).scalar_one()
            db.session.commit()
            return record_id
        except IntegrityError:
            db.session.rollback()
        existing = db.session.scalar(select(IdempotencyRecord).where(
            IdempotencyRecord.customer_id == customer_id, IdempotencyRecord.key == key))
        if existing is not None and existing.expires_at <= now:
            db.session.execute(delete(IdempotencyRecord).where(
                IdempotencyRecord.id == existing.id, IdempotencyRecord.expires_at <= now))
            db.session.commit()
            continue
        if existing is None:
            continue
        if (existing.response_status is None and existing.locked_until is not None and existing.locked_until <= now
                and hmac.compare_digest(existing.request_fingerprint, request_fingerprint)):
            # The request holding the key died (or hung) past its lease: this one takes over.
            taken = matched(db.session.execute(update(IdempotencyRecord).where(
                IdempotencyRecord.id == existing.id, IdempotencyRecord.response_status.is_(None),
                IdempotencyRecord.locked_until == existing.locked_until,
            ).values(locked_until=now + timedelta(seconds=lease_seconds))))
            db.session.commit()
            if taken == 1:
                return existing.id
            continue
        db.session.commit()
        return existing
    raise Conflict(f"The request with this {HEADER} is being answered; retry shortly.",
                   field=HEADER)


@dataclass(frozen=True)
class _Serving:
    record_id: int
    status_of: Callable[[Any], int]


def keep_answer(body: Any) -> None:
    """Store `body` as the answer to the Idempotency-Key being served, in the current
    transaction: the work calls this just before its final commit, so the answer commits with
    the effect it describes, or neither does. Without a key being served it does nothing."""
    serving = db.session.info.get(SERVING)
    if serving is not None:
        _store(serving.record_id, serving.status_of(body), body)


def _store(record_id: int, status: int, body: Any) -> None:
    db.session.execute(update(IdempotencyRecord)
                       .where(IdempotencyRecord.id == record_id, IdempotencyRecord.response_status.is_(None))
                       .values(response_status=status, response_body=json.dumps(body), locked_until=None))


def _forget(record_id: int) -> None:
    """Free the key for a retry, unless the work had stored its answer before it failed."""
    db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id,
                                                       IdempotencyRecord.response_status.is_(None)))
    db.session.commit()


def answer_once(customer_id: int, key: str | None, request_fingerprint: str, ttl_seconds: int, lease_seconds: int,
                work: Callable[[], Any], status_of: Callable[[Any], int], now: datetime | None = None) -> Answer:
    """Run `work` (which returns the body, or raises a Problem) at most once per key; `status_of`
    names the status of a body."""
    if key is None:
        body = work()
        return Answer(status_of(body), body)
    _check_key(key)
    claim = _claim(customer_id, key, request_fingerprint, ttl_seconds, lease_seconds, now or utcnow())
    if isinstance(claim, IdempotencyRecord):
        if not hmac.compare_digest(claim.request_fingerprint, request_fingerprint):
            raise Problem(422, "Idempotency-Key reused",
                          f"This {HEADER} was already used for a different request.",
                          type_="idempotency-key-reused", field=HEADER)
        if claim.response_status is None:
            raise Conflict(f"The request with this {HEADER} is being answered; retry shortly.",
                           field=HEADER)
        return Answer(claim.response_status, json.loads(claim.response_body or "null"), replayed=True)
    db.session.info[SERVING] = _Serving(claim, status_of)
    try:
        body = work()
    except Problem as problem:
        db.session.rollback()
        if problem.status >= 500:
            _forget(claim)
        else:
            _store(claim, problem.status, problem.to_dict())
            db.session.commit()
        raise
    except BaseException:
        db.session.rollback()
        _forget(claim)
        raise
    finally:
        db.session.info.pop(SERVING, None)
    # Work that had nothing to commit (a replay of its own) stores its answer here.
    _store(claim, status_of(body), body)
    db.session.commit()
    return Answer(status_of(body), body)


def purge_expired(now: datetime | None = None) -> int:
    purged = matched(db.session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= (now or utcnow()))))
    db.session.commit()
    return purged
