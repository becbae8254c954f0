"""The consumer process: `python -m shop.events.worker [consumer ...]` (all consumers by default).

One message at a time per consumer queue is handed to `delivery.deliver` in an app context, with a
time limit; it is acknowledged only after the handler's commit. A failure is re-published to the
consumer's retry queue with a backoff (and acknowledged); past the consumer's max_retries the
`dead_letters` row is written and the message rejected into the dead-letter queue.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from kombu.mixins import ConsumerMixin

from . import Consumer, consumers, event_from
from .broker import ATTEMPT_HEADER, Publisher, connect, consumer_queue, declare
from .delivery import RETRIED, backoff_seconds, dead_letter, deliver

log = logging.getLogger(__name__)


class ConsumerTimeout(Exception):  # noqa: N818 - reads as what happened
    """A handler ran past EVENT_CONSUMER_TIME_LIMIT_SECONDS."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def expire(_signum, _frame):
        raise ConsumerTimeout(f"the handler ran longer than {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class EventWorker(ConsumerMixin):
    def __init__(self, app: Flask, selected: list[Consumer]) -> None:
        self.app = app
        self.selected = selected
        url = app.config["BROKER_URL"]
        self.connection = connect(url)
        # Retries are published on a connection of their own: waiting for a confirm on the consuming
        # connection would read (and dispatch) deliveries in the middle of a callback.
        self.retry_connection = connect(url)
        self.settings = app.config

    def get_consumers(self, consumer_class, channel):
        declare(self.connection, self.selected)
        return [consumer_class(queues=[consumer_queue(consumer)], accept=["json"],
                               prefetch_count=self.settings["EVENT_CONSUMER_PREFETCH"],
                               callbacks=[self._callback_for(consumer)])
                for consumer in self.selected]

    def _callback_for(self, consumer: Consumer):
        def on_message(body, message) -> None:
            self.handle(consumer, body, message)

        return on_message

    def handle(self, consumer: Consumer, body: dict, message) -> None:
        event = event_from(body)
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 0))
        with self.app.app_context():
            try:
                with time_limit(self.settings["EVENT_CONSUMER_TIME_LIMIT_SECONDS"]):
                    deliver(consumer, event)
            except Exception as failure:  # noqa: BLE001 - every failure is retried, then parked
                log.info("consumer %s failed on event %s (attempt %s): %s", consumer.name, event.id, attempt + 1,
                         failure)
                if attempt >= consumer.max_retries and self._park(consumer, event, failure, attempt + 1):
                    message.reject(requeue=False)
                    return
                self._retry_later(consumer, event, min(attempt + 1, consumer.max_retries))
        message.ack()

    def _park(self, consumer: Consumer, event, failure: Exception, attempts: int) -> bool:
        try:
            dead_letter(consumer, event, failure, attempts)
        except Exception as unreachable:  # noqa: BLE001 - the database is down too: retry the event later
            log.warning("could not dead-letter event %s for %s (%s); retrying it", event.id, consumer.name,
                        unreachable)
            return False
        return True

    def _retry_later(self, consumer: Consumer, event, attempt: int) -> None:
        delay = backoff_seconds(attempt, self.settings["EVENT_RETRY_BASE_SECONDS"],
                                self.settings["EVENT_RETRY_MAX_SECONDS"])
        Publisher(self.retry_connection).retry_later(consumer, event, attempt, delay)
        from ..metrics import CONSUMER_EVENTS

        CONSUMER_EVENTS.labels(consumer.name, RETRIED).inc()


def main(argv: list[str] | None = None) -> None:
    from .. import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app()
    if not app.config["BROKER_URL"]:
        sys.exit("BROKER_URL is not set: without a broker the relay runs the consumers in-process.")
    names = (argv if argv is not None else sys.argv[1:])
    with app.app_context():
        registered = consumers()
    unknown = sorted(set(names) - set(registered))
    if unknown:
        sys.exit(f"no such consumer: {', '.join(unknown)} (known: {', '.join(sorted(registered))})")
    selected = [registered[name] for name in names] if names else list(registered.values())
    worker = EventWorker(app, selected)
    log.info("consuming events for %s", ", ".join(consumer.name for consumer in selected))
    try:
        worker.run()
    finally:
        worker.retry_connection.release()
        worker.connection.release()


if __name__ == "__main__":
    main()
