"""The consumer processes: `python -m shop.events.worker [--processes N] [consumer ...]` (all
consumers by default). The main process loads the app once and keeps N forked consumer processes.

One message at a time per consumer queue is handed to `delivery.deliver` in an app context, with a
time limit; it is acknowledged only after the handler's commit. A failure is re-published to the
consumer's retry queue with a backoff (and acknowledged); past the consumer's max_retries the
`dead_letters` row is written and the message rejected into the dead-letter queue.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from kombu.mixins import ConsumerMixin

from ..extensions import db
from . import Consumer, consumers, event_from, faults
from .broker import ATTEMPT_HEADER, Publisher, connect, consumer_queue, declare, queue_name
from .delivery import PROCESSED, RETRIED, backoff_seconds, dead_letter, deliver

log = logging.getLogger(__name__)

# A consumer process that ended sooner than this after its start is replaced only after this pause.
RESTART_BACKOFF_SECONDS = 1.0


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
                    outcome = deliver(consumer, event)
            except Exception as failure:  # noqa: BLE001 - every failure is retried, then parked
                log.info("consumer %s failed on event %s (attempt %s): %s", consumer.name, event.id, attempt + 1,
                         failure)
                if attempt >= consumer.max_retries and self._park(consumer, event, failure, attempt + 1):
                    message.reject(requeue=False)
                    return
                self._retry_later(consumer, event, min(attempt + 1, consumer.max_retries))
            else:
                if outcome == PROCESSED:
                    faults.pause_at(faults.BEFORE_ACK, event)
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


def consume(app: Flask, selected: list[Consumer]) -> None:
    """Consume until stopped (a consumer process)."""
    with app.app_context():
        db.engine.dispose(close=False)  # connections made before a fork belong to the parent
    worker = EventWorker(app, selected)
    try:
        worker.run()
    finally:
        worker.retry_connection.release()
        worker.connection.release()


def supervise(app: Flask, selected: list[Consumer], processes: int) -> None:
    """Keep `processes` consumer processes running, forked from this one (which has the app loaded,
    so a replacement starts at once): a consumer process that dies (killed, out of memory) is
    replaced, and its unacknowledged messages are redelivered to the others. SIGTERM stops them all."""
    children: dict[int, float] = {}
    stopping = False

    def stop(_signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        while not stopping and len(children) < processes:
            pid = os.fork()
            if pid == 0:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                try:
                    consume(app, selected)
                finally:
                    os._exit(1)
            children[pid] = time.monotonic()
            log.info("consumer process %s started", pid)
        if not children:
            return
        pid, status = os.wait()
        started = children.pop(pid, None)
        if not stopping and started is not None:
            log.warning("consumer process %s ended (status %s); starting another", pid, status)
            if time.monotonic() - started < RESTART_BACKOFF_SECONDS:
                time.sleep(RESTART_BACKOFF_SECONDS)  # one that dies at once must not spin


def attached_consumers(url: str, selected: list[Consumer]) -> dict[str, int]:
    """How many consumers read each selected consumer's queue, by queue name (0 for a queue not yet
    declared): a consumer process is connected once each of its queues has one."""
    counts = {}
    with connect(url) as connection:
        for consumer in selected:
            # A passive declare of a missing queue closes its channel: one channel per queue.
            with connection.channel() as channel:
                try:
                    declared = consumer_queue(consumer)(channel).queue_declare(passive=True)
                    counts[queue_name(consumer)] = declared.consumer_count
                except connection.channel_errors:
                    counts[queue_name(consumer)] = 0
    return counts


def check(app: Flask, selected: list[Consumer]) -> None:
    """Exit 0 when every selected consumer's queue has a consumer, else 1 (deploys wait on it)."""
    counts = attached_consumers(app.config["BROKER_URL"], selected)
    for name, count in sorted(counts.items()):
        print(f"{name}: {count} consumers")
    sys.exit(0 if all(counts.values()) else 1)


def main(argv: list[str] | None = None) -> None:
    from .. import create_app

    parser = argparse.ArgumentParser(prog="python -m shop.events.worker", description=__doc__.splitlines()[0])
    parser.add_argument("consumers", nargs="*", help="the consumers to run (default: all)")
    parser.add_argument("--processes", type=int, default=1, help="consumer processes to keep running")
    parser.add_argument("--check", action="store_true",
                        help="only say whether each consumer's queue has a consumer (exit 1 if one has none)")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(name)s %(message)s")
    app = create_app()
    if not app.config["BROKER_URL"]:
        sys.exit("BROKER_URL is not set: without a broker the relay runs the consumers in-process.")
    with app.app_context():
        registered = consumers()
    unknown = sorted(set(options.consumers) - set(registered))
    if unknown:
        sys.exit(f"no such consumer: {', '.join(unknown)} (known: {', '.join(sorted(registered))})")
    selected = [registered[name] for name in options.consumers] if options.consumers else list(registered.values())
    if options.check:
        check(app, selected)
    log.info("consuming events for %s in %s processes", ", ".join(consumer.name for consumer in selected),
             options.processes)
    supervise(app, selected, max(1, options.processes))


if __name__ == "__main__":
    main()
