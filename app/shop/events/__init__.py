"""The event backbone: the outbox's events reach every consumer that wants them, once as an effect.

Contract for consumer authors:

    from shop import events

    @events.consumer("shipments", "order.paid", "order.cancelled", max_retries=5)
    def handle(event: events.Event) -> None:
        ...  # runs in an app context with db.session

The framework skips an event the consumer already processed (its inbox holds (consumer, event id)),
calls the handler, then writes the inbox row and commits: the row commits with the handler's final
changes, so a redelivered or duplicated event has no second effect. A handler that calls an outside
service may commit intermediate steps itself, but must be idempotent up to that final commit
(unique keys, "insert if absent"). A handler raising `Retry(reason)` (or any exception) is retried
with exponential backoff and jitter; after `max_retries` the event is dead-lettered: parked in the
consumer's dead-letter queue and in the `dead_letters` table, where staff inspect and replay it.

Consumers are registered by importing the modules named in CONSUMER_MODULES (a missing one is
skipped with a warning, so a module can be listed before its branch lands). How events travel:
`broker.py` (RabbitMQ) and `delivery.py` (the inbox, retries, dead letters; in-process without a
broker).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

# Every module whose import registers consumers. Add one line per module.
CONSUMER_MODULES: tuple[str, ...] = (
    "shop.events.audit",
    "shop.logistics.consumers",
    "shop.support.consumers",
    "shop.mail",
)


@dataclass(frozen=True)
class Event:
    id: int
    topic: str
    payload: dict
    occurred_at: datetime


class Retry(Exception):  # noqa: N818 - a handler raises events.Retry(reason): read as an instruction
    """A transient failure: deliver the event again later."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Handler = Callable[[Event], None]


@dataclass(frozen=True)
class Consumer:
    name: str
    topics: tuple[str, ...]
    handle: Handler = field(compare=False)
    max_retries: int = 5

    def wants(self, topic: str) -> bool:
        return any(_topic_matches(pattern, topic) for pattern in self.topics)


_consumers: dict[str, Consumer] = {}


def consumer(name: str, *topics: str, max_retries: int = 5) -> Callable[[Handler], Handler]:
    """Register `handle(event)` as consumer `name` of `topics` (AMQP topic patterns: `order.*`)."""
    if not topics:
        raise ValueError(f"consumer {name!r} names no topics")

    def register(handle: Handler) -> Handler:
        registered = _consumers.get(name)
        if registered is not None and registered.handle is not handle:
            raise ValueError(f"two consumers are named {name!r}")
        _consumers[name] = Consumer(name, tuple(topics), handle, max_retries)
        return handle

    return register


def consumers() -> dict[str, Consumer]:
    """Every registered consumer by name, after importing CONSUMER_MODULES."""
    load_consumers()
    return dict(_consumers)


def load_consumers(modules: tuple[str, ...] | None = None) -> None:
    for module in CONSUMER_MODULES if modules is None else modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as missing:
            if missing.name is None or not module.startswith(missing.name):
                raise
            log.debug("consumer module %s is not installed; skipped", module)


def _topic_matches(pattern: str, topic: str) -> bool:
    """AMQP topic matching: `*` is one word, `#` zero or more."""

    def match(words: list[str], parts: list[str]) -> bool:
        if not words:
            return not parts
        if words[0] == "#":
            return any(match(words[1:], parts[i:]) for i in range(len(parts) + 1))
        return bool(parts) and words[0] in ("*", parts[0]) and match(words[1:], parts[1:])

    return match(pattern.split("."), topic.split("."))


def event_from(values: dict[str, Any]) -> Event:
    occurred_at = values["occurred_at"]
    if isinstance(occurred_at, str):
        occurred_at = datetime.fromisoformat(occurred_at)
    return Event(int(values["id"]), str(values["topic"]), dict(values["payload"]), occurred_at)


__all__ = ["CONSUMER_MODULES", "Consumer", "Event", "Retry", "consumer", "consumers", "load_consumers"]
