"""The backbone on RabbitMQ, with kombu (Celery's own transport) rather than Celery tasks: a Celery
message names one task and lands in one queue, while an event must reach every consumer that wants
it, each through a queue of its own. So, plainly in AMQP:

- The relay publishes each outbox event to the topic exchange `shop.events`, routing key = topic,
  persistent, with publisher confirms (`confirm_publish`): an event is marked published only once
  RabbitMQ has taken responsibility for it.
- Each consumer has its own durable queue `shop.events.<consumer>`, bound to its topics. The relay
  declares every queue before it publishes, so no event goes to a queue not yet made.
- A failed delivery is acknowledged and re-published to `shop.events.<consumer>.retry` with a
  per-message TTL (the backoff) and its attempt number; that queue has no reader and dead-letters
  expired messages back to the consumer's queue. (TTLs expire at the head of a queue only, so a
  message may wait behind a longer one: never less than its backoff, at most EVENT_RETRY_MAX_SECONDS.)
- Past the consumer's last retry the worker writes the `dead_letters` row and rejects the message;
  the queue's dead-letter exchange `shop.events.dead` parks it in `shop.events.<consumer>.dead`.
  Staff replay from the table: the event is re-published to that consumer's queue only. The parked
  message stays in the dead-letter queue as the broker's own record (operators purge it); the table
  is what staff act on.

Messages are acknowledged only after the handler's commit, so a killed worker's message is
redelivered and the inbox makes the second delivery a no-op. Queue depth is RabbitMQ's to report
(its Prometheus plugin: rabbitmq_queue_messages_ready per queue).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from kombu import Connection, Exchange, Producer, Queue, binding

from . import Consumer, Event
from .delivery import as_message

EXCHANGE = Exchange("shop.events", type="topic", durable=True)
DEAD_EXCHANGE = Exchange("shop.events.dead", type="direct", durable=True)
DEFAULT_EXCHANGE = Exchange("")
ATTEMPT_HEADER = "x-shop-attempt"


def queue_name(consumer: Consumer) -> str:
    return f"shop.events.{consumer.name}"


def consumer_queue(consumer: Consumer) -> Queue:
    return Queue(queue_name(consumer), bindings=[binding(EXCHANGE, routing_key=topic) for topic in consumer.topics],
                 durable=True, queue_arguments={"x-dead-letter-exchange": DEAD_EXCHANGE.name,
                                                "x-dead-letter-routing-key": consumer.name})


def retry_queue(consumer: Consumer) -> Queue:
    name = f"{queue_name(consumer)}.retry"
    return Queue(name, exchange=DEFAULT_EXCHANGE, routing_key=name, durable=True,
                 queue_arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue_name(consumer)})


def dead_queue(consumer: Consumer) -> Queue:
    return Queue(f"{queue_name(consumer)}.dead", exchange=DEAD_EXCHANGE, routing_key=consumer.name, durable=True)


def connect(url: str) -> Connection:
    # confirm_publish: every publish waits for RabbitMQ's ack (a nack or a lost connection raises).
    return Connection(url, transport_options={"confirm_publish": True}, connect_timeout=5)


def declare(connection: Connection, consumers: Iterable[Consumer]) -> None:
    channel = connection.default_channel
    EXCHANGE(channel).declare()
    DEAD_EXCHANGE(channel).declare()
    for consumer in consumers:
        for queue in (consumer_queue(consumer), retry_queue(consumer), dead_queue(consumer)):
            queue(channel).declare()


@contextmanager
def publisher(url: str, consumers: Iterable[Consumer]) -> Iterator[Publisher]:
    with connect(url) as connection:
        declare(connection, consumers)
        yield Publisher(connection)


class Publisher:
    """Publishes events with confirms on one connection; every call returns once RabbitMQ has it."""

    def __init__(self, connection: Connection) -> None:
        self.producer = Producer(connection.default_channel)

    def publish(self, event: Event) -> None:
        """To every consumer bound to the event's topic."""
        self._send(event, EXCHANGE, event.topic, attempt=0)

    def send_to(self, consumer: Consumer, event: Event, attempt: int = 0) -> None:
        """To one consumer only (a replay)."""
        self._send(event, DEFAULT_EXCHANGE, queue_name(consumer), attempt)

    def retry_later(self, consumer: Consumer, event: Event, attempt: int, delay_seconds: float) -> None:
        self._send(event, DEFAULT_EXCHANGE, retry_queue(consumer).name, attempt,
                   expiration=max(delay_seconds, 0.001))

    def _send(self, event: Event, exchange: Exchange, routing_key: str, attempt: int, **options) -> None:
        self.producer.publish(as_message(event), exchange=exchange, routing_key=routing_key, serializer="json",
                              delivery_mode=2, message_id=str(event.id), headers={ATTEMPT_HEADER: attempt},
                              retry=False, **options)
