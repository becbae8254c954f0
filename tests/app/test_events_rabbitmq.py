"""The event backbone against a real RabbitMQ (a node of the test's own, so it may be stopped) and
PostgreSQL, with the consumer worker as a real process: confirms, per-consumer queues, redelivery
after SIGKILL, dead-lettering and replay, and a database restart under the worker.

Run with `make test-events` (part of `make test`); `make test-app` leaves them out (-m "not rabbitmq").
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import kombu.exceptions
import pytest
from kombu import Connection
from sqlalchemy import func, select

from shop import create_app, events
from shop.events import faults
from shop.events.audit import POISON_ENV, OrderEventCount, OrderEventLog
from shop.events.broker import consumer_queue, dead_queue, publisher, retry_queue
from shop.events.models import DeadLetter, InboxEntry
from shop.events.relay import relay_events
from shop.events.worker import attached_consumers
from shop.extensions import db
from shop.outbox import OutboxEvent, record_event

from .conftest import _migrate
from .factories import ADDRESS, auth_headers, make_cart, make_product, make_user
from .own_services import PostgresCluster, RabbitNode, wait_until

pytestmark = pytest.mark.rabbitmq

# How many times the worker is killed in the middle of the consumer.
KILLS = 20


@pytest.fixture
def backend() -> str:
    return "postgresql"  # the shop's production backend only: the relay's row locks are PostgreSQL's


@pytest.fixture(scope="module")
def rabbit() -> Iterator[RabbitNode]:
    node = RabbitNode()
    node.start()
    yield node
    node.remove()


@pytest.fixture
def broker_url(rabbit) -> str:
    """The node, running, with none of the consumers' queues left from another test."""
    from shop.events.broker import connect

    with Connection(rabbit.url) as connection:
        channel = connection.default_channel
        for consumer in events.consumers().values():
            for queue in (consumer_queue(consumer), retry_queue(consumer), dead_queue(consumer)):
                queue(channel).delete()
    assert connect  # the publisher's own connection settings are exercised by the tests
    return rabbit.url


@pytest.fixture
def app_config(app_config, broker_url) -> dict:
    return {**app_config, "BROKER_URL": broker_url, "EVENT_RETRY_BASE_SECONDS": 0.02, "EVENT_RETRY_MAX_SECONDS": 0.2}


class Worker:
    """`python -m shop.events.worker audit` as its own process, as the worker host runs it."""

    def __init__(self, database_url: str, broker_url: str, log_dir: Path, **settings: str) -> None:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("SHOP_EVENTS_FAULT", "EVENT_"))}
        env |= {"DATABASE_URL": database_url, "BROKER_URL": broker_url, "SECRET_KEY": "worker-test-secret",
                "PAYMENT_WEBHOOK_SECRETS": "whsec_worker_test", "SHOP_INSTANCE_DIR": str(log_dir),
                "EVENT_RETRY_BASE_SECONDS": "0.02", "EVENT_RETRY_MAX_SECONDS": "0.2", **settings}
        self.log_path = log_dir / f"worker-{len(list(log_dir.glob('worker-*')))}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115
        self.process = subprocess.Popen([sys.executable, "-m", "shop.events.worker", "audit"], env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def paused_consumer(self, event_id: int) -> int | None:
        """The consumer process sleeping in the audit consumer's fault hook on `event_id`."""
        found = re.search(rf"paused \w+ on event {event_id} in process (\d+)", self.log_path.read_text())
        return int(found.group(1)) if found else None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture
def workers(tmp_path) -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()


def start_worker(workers, database_url, broker_url, tmp_path, **settings) -> Worker:
    worker = Worker(database_url, broker_url, tmp_path, **settings)
    workers.append(worker)
    return worker


def fresh(query):
    db.session.rollback()
    return db.session.scalar(query)


def counts() -> dict[int, int]:
    db.session.rollback()
    found = dict(db.session.execute(select(OrderEventCount.order_id, OrderEventCount.events)).all())
    db.session.rollback()  # the connection goes back to the pool (a database restart may come next)
    return found


def record_events(order_ids, **payload) -> None:
    for order_id in order_ids:
        record_event("order.paid", order_id=order_id, **payload)
    db.session.commit()


def relay_all(broker_url: str) -> int:
    total = 0
    while published := relay_events(broker_url, batch=10):
        total += published
    return total


def test_three_relays_at_once_publish_each_event_once_as_an_effect(app, app_config, broker_url, workers,
                                                                    tmp_path):
    record_events(range(1, 61))
    start_worker(workers, app_config["SQLALCHEMY_DATABASE_URI"], broker_url, tmp_path)
    start = threading.Barrier(3)

    def relay(_number: int) -> int:
        with app.app_context():
            start.wait(timeout=30)
            published = relay_all(broker_url)
            db.session.remove()
            return published

    with ThreadPoolExecutor(max_workers=3) as relays:
        published = list(relays.map(relay, range(3), timeout=120))
    wait_until(lambda: fresh(select(func.count()).select_from(InboxEntry)) == 60, "60 events consumed")
    print("relays published", published, "consumed counts", sorted(set(counts().values())))
    assert sum(published) == 60
    assert counts() == {order_id: 1 for order_id in range(1, 61)}
    assert fresh(select(func.count()).select_from(OrderEventLog)) == 60


def test_the_check_counts_a_consumer_on_its_queue_only_once_the_worker_is_connected(app_config, broker_url,
                                                                                   workers, tmp_path):
    audit = [events.consumers()["audit"]]
    assert attached_consumers(broker_url, audit) == {"shop.events.audit": 0}
    start_worker(workers, app_config["SQLALCHEMY_DATABASE_URI"], broker_url, tmp_path)
    wait_until(lambda: attached_consumers(broker_url, audit) == {"shop.events.audit": 1}, "the worker to attach")


def test_events_of_orders_paid_while_the_broker_is_down_are_consumed_once_it_is_back(
        app, app_config, client, rabbit, broker_url, workers, tmp_path):
    start_worker(workers, app_config["SQLALCHEMY_DATABASE_URI"], broker_url, tmp_path)
    customer = make_user()
    product = make_product(stock=50)
    rabbit.stop()
    try:
        for _ in range(3):
            cart_id = make_cart(customer, (product, 1)).id
            order = client.post("/api/v1/orders", json={"cart_id": cart_id, "shipping_address": ADDRESS},
                                headers=auth_headers(customer))
            assert order.status_code == 201
            paid = client.post(f"/api/v1/orders/{order.json['id']}/payments", headers=auth_headers(customer),
                               json={"card_number": "4242424242424242", "exp_month": 12, "exp_year": 2099,
                                     "cvc": "123"})
            assert paid.status_code in (200, 201), paid.json
        with pytest.raises(kombu.exceptions.OperationalError):
            relay_events(broker_url)
    finally:
        rabbit.start()
    unpublished = fresh(select(func.count()).where(OutboxEvent.published_at.is_(None)))
    assert unpublished >= 6  # order.created and order.paid, per order
    relay_all(broker_url)
    per_order = Counter(payload["order_id"] for payload in db.session.scalars(select(OutboxEvent.payload)))
    wait_until(lambda: counts() == per_order, f"every event counted once: {per_order}", timeout=60)
    assert fresh(select(func.count()).select_from(InboxEntry)) == sum(per_order.values())


def test_a_worker_killed_in_the_middle_of_a_consumer_has_its_event_redelivered_and_counted_once(
        app, app_config, broker_url, workers, tmp_path):
    worker = start_worker(workers, app_config["SQLALCHEMY_DATABASE_URI"], broker_url, tmp_path,
                          **{faults.PAUSE_ENV: "60"})
    for order_id in range(1, KILLS + 1):
        # Half the kills land between the consumer's intermediate and final commits, half between its
        # final commit and the acknowledgement (so the redelivered event is in the inbox already).
        point = faults.AFTER_LOG if order_id % 2 else faults.BEFORE_ACK
        record_events([order_id], fault_pause=point)
        relay_all(broker_url)
        event_id = fresh(select(func.max(OutboxEvent.id)))
        consumer = wait_until(lambda event_id=event_id: worker.paused_consumer(event_id),
                              f"the consumer paused {point} on event {event_id}", timeout=60)
        os.kill(consumer, signal.SIGKILL)
        counted = fresh(select(OrderEventCount.events).where(OrderEventCount.order_id == order_id))
        assert counted == (None if point == faults.AFTER_LOG else 1)
    # The worker replaced each killed consumer process, and the new one is given the last event again
    # (redelivered at the head of the queue) before this one.
    record_events([KILLS + 1])
    relay_all(broker_url)
    wait_until(lambda: KILLS + 1 in counts(), "the redelivered and the last events consumed", timeout=60)
    print(f"killed {KILLS} times mid-consumer; effects per event:", counts())
    assert counts() == {order_id: 1 for order_id in range(1, KILLS + 2)}
    assert fresh(select(func.count()).select_from(OrderEventLog)) == KILLS + 1
    assert fresh(select(func.count()).select_from(InboxEntry)) == KILLS + 1


def dead_letter_queue_depth(broker_url: str) -> int:
    with Connection(broker_url) as connection:
        queue = dead_queue(events.consumers()["audit"])(connection.default_channel)
        return queue.queue_declare(passive=True).message_count


def test_a_poison_event_is_dead_lettered_after_its_retries_and_a_replay_after_the_fix_succeeds_once(
        app, app_config, client, broker_url, workers, tmp_path):
    database_url = app_config["SQLALCHEMY_DATABASE_URI"]
    poisoned = start_worker(workers, database_url, broker_url, tmp_path, **{POISON_ENV: "poison"})
    record_event("order.paid", order_id=500, poison=True)
    db.session.commit()
    relay_all(broker_url)
    letter_id = wait_until(lambda: fresh(select(DeadLetter.id)), "the dead letter", timeout=30)
    wait_until(lambda: dead_letter_queue_depth(broker_url) == 1, "the message in the dead-letter queue")
    letter = db.session.get(DeadLetter, letter_id)
    assert (letter.consumer, letter.attempts) == ("audit", 6)
    assert counts() == {}

    poisoned.stop()  # the fix is deployed
    start_worker(workers, database_url, broker_url, tmp_path)
    staff = auth_headers(make_user("staff"))
    assert client.post(f"/api/v1/staff/dead-letters/{letter_id}/replay", headers=staff).status_code == 200
    wait_until(lambda: counts() == {500: 1}, "the replayed event consumed")
    assert client.post(f"/api/v1/staff/dead-letters/{letter_id}/replay", headers=staff).status_code == 200
    assert fresh(select(func.count()).select_from(InboxEntry)) == 1
    assert counts() == {500: 1}


@pytest.fixture
def own_postgres(tmp_path) -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    try:
        cluster.start()
        from .conftest import _base_config

        admin = cluster.url.rsplit("/", 1)[0] + "/postgres"
        import sqlalchemy as sa

        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text("CREATE DATABASE shop"))
        engine.dispose()
        _migrate({**_base_config(), "SQLALCHEMY_DATABASE_URI": cluster.url})
        yield cluster
    finally:
        cluster.remove()


def test_the_worker_reconnects_after_postgresql_restarts_and_loses_nothing(own_postgres, broker_url, workers,
                                                                         tmp_path):
    from .conftest import _base_config

    shop = create_app({**_base_config(), "SQLALCHEMY_DATABASE_URI": own_postgres.url, "BROKER_URL": broker_url})
    with shop.app_context():
        worker = start_worker(workers, own_postgres.url, broker_url, tmp_path, EVENT_RETRY_BASE_SECONDS="0.2",
                              EVENT_RETRY_MAX_SECONDS="1")
        record_events(range(1, 6))
        relay_all(broker_url)
        wait_until(lambda: len(counts()) == 5, "the first events consumed")
        own_postgres.restart()  # under the running worker: its pooled connections are dead
        record_events(range(6, 11))
        relay_all(broker_url)
        wait_until(lambda: len(counts()) == 10, "the events after the restart consumed", timeout=60)
        db.session.remove()
        db.engine.dispose()
        # Events in the queue while the database is down fail, are retried, and are consumed once it is back.
        own_postgres.stop()
        try:
            with publisher(broker_url, [events.consumers()["audit"]]) as out:
                for order_id in range(11, 14):
                    out.publish(events.Event(1000 + order_id, "order.paid", {"order_id": order_id}, datetime.now(UTC)))
            wait_until(lambda: "failed on event 1013" in worker.log_path.read_text(), "a failure while it is down")
        finally:
            own_postgres.start()
        wait_until(lambda: len(counts()) == 13, "the events sent while the database was down consumed", timeout=60)
        print("counts after the PostgreSQL restart and outage:", counts())
        assert counts() == {order_id: 1 for order_id in range(1, 14)}
        db.session.remove()
        db.engine.dispose()
