"""The event backbone on the embedded default (no broker): the relay runs the consumers right after
the commit; each consumer's inbox makes an event once as an effect; failures are retried, then
dead-lettered into the table. The same delivery runs behind RabbitMQ (tests/app/test_events_rabbitmq.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from shop import events
from shop.events.audit import OrderEventCount, OrderEventLog
from shop.events.delivery import (
    DEAD_LETTERED,
    DUPLICATE,
    PROCESSED,
    backoff_seconds,
    deliver,
    deliver_in_process,
)
from shop.events.models import DeadLetter, InboxEntry
from shop.events.worker import ConsumerTimeout, time_limit
from shop.extensions import db
from shop.metrics import CONSUMER_EVENTS
from shop.outbox import record_event
from shop.tasks import relay_outbox

from .factories import ADDRESS, auth_headers, make_cart, make_product, make_user

MOMENT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def event(event_id: int = 1, topic: str = "order.paid", **payload) -> events.Event:
    return events.Event(event_id, topic, payload or {"order_id": 7}, MOMENT)


def audit() -> events.Consumer:
    return events.consumers()["audit"]


def count_for(order_id: int) -> int | None:
    db.session.expire_all()
    return db.session.scalar(select(OrderEventCount.events).where(OrderEventCount.order_id == order_id))


@pytest.fixture
def flaky(monkeypatch):
    """A consumer `flaky` of order.paid failing its first `failures[0]` calls; counts its calls."""
    calls, failures = [], [0]

    def handle(event: events.Event) -> None:
        calls.append(event.id)
        db.session.add(OrderEventCount(order_id=event.payload["order_id"], events=1))
        if len(calls) <= failures[0]:
            raise events.Retry("the carrier is down")

    monkeypatch.setitem(events._consumers, "flaky", events.Consumer("flaky", ("order.paid",), handle, max_retries=2))
    return events._consumers["flaky"], calls, failures


def test_a_placed_orders_event_is_consumed_right_after_the_request(client):
    customer = make_user()
    cart_id = make_cart(customer, (make_product(stock=5), 1)).id
    response = client.post("/api/v1/orders", json={"cart_id": cart_id, "shipping_address": ADDRESS},
                           headers=auth_headers(customer))
    assert response.status_code == 201
    db.session.expire_all()
    logged = db.session.scalars(select(OrderEventLog.topic).where(OrderEventLog.order_id == response.json["id"]))
    assert list(logged) == ["order.created"]
    assert count_for(response.json["id"]) == 1


def test_a_relayed_event_is_marked_published_after_its_consumers_ran(app):
    record_event("order.paid", order_id=41)
    db.session.commit()
    assert relay_outbox.apply().result == 1
    assert count_for(41) == 1
    assert relay_outbox.apply().result == 0


def test_an_event_delivered_twice_has_one_effect(app):
    assert deliver(audit(), event(5, order_id=9)) == PROCESSED
    assert deliver(audit(), event(5, order_id=9)) == DUPLICATE
    assert count_for(9) == 1
    assert db.session.scalar(select(func.count()).select_from(InboxEntry)) == 1


def test_the_inbox_is_per_consumer(app, flaky):
    consumer, calls, _ = flaky
    deliver(audit(), event(6, order_id=10))
    assert deliver(consumer, event(6, order_id=11)) == PROCESSED
    assert calls == [6]


def test_a_failed_handlers_changes_are_rolled_back(app, flaky):
    consumer, _, failures = flaky
    failures[0] = 1
    with pytest.raises(events.Retry):
        deliver(consumer, event(8, order_id=12))
    assert count_for(12) is None
    assert db.session.scalar(select(func.count()).select_from(InboxEntry)) == 0


def test_in_process_a_failure_is_retried_and_then_processed_once(app, flaky):
    consumer, calls, failures = flaky
    failures[0] = 2
    assert deliver_in_process([consumer], event(3, order_id=13)) == {"flaky": PROCESSED}
    assert calls == [3, 3, 3]
    assert count_for(13) == 1


def test_in_process_a_failure_past_the_last_retry_is_dead_lettered(app, flaky):
    consumer, calls, failures = flaky
    failures[0] = 99
    before = CONSUMER_EVENTS.labels("flaky", DEAD_LETTERED)._value.get()
    assert deliver_in_process([consumer], event(4, order_id=14)) == {"flaky": DEAD_LETTERED}
    assert calls == [4, 4, 4]  # the first try and max_retries=2 retries
    letter = db.session.scalars(select(DeadLetter)).one()
    assert (letter.consumer, letter.event_id, letter.topic, letter.attempts) == ("flaky", 4, "order.paid", 3)
    assert letter.payload == {"order_id": 14}
    assert letter.error == "Retry: the carrier is down"
    assert letter.replayed_at is None
    assert count_for(14) is None
    assert CONSUMER_EVENTS.labels("flaky", DEAD_LETTERED)._value.get() == before + 1


def test_a_consumer_is_given_only_the_topics_it_wants(app, flaky):
    consumer, calls, _ = flaky
    assert deliver_in_process([consumer], event(5, "order.cancelled", order_id=15)) == {}
    assert calls == []


@pytest.mark.parametrize(("pattern", "topic", "wanted"), [
    ("order.#", "order.paid", True),
    ("order.#", "order", True),
    ("order.*", "order.paid", True),
    ("order.*", "order.paid.late", False),
    ("order.paid", "order.paid", True),
    ("order.paid", "payment.refunded", False),
    ("#", "payment.refunded", True),
])
def test_topics_match_as_rabbitmq_matches_them(pattern, topic, wanted):
    assert events.Consumer("x", (pattern,), lambda _event: None).wants(topic) is wanted


def test_a_consumer_module_not_installed_is_skipped():
    events.load_consumers(("shop.no_such_module.consumers",))


def test_a_consumer_module_that_fails_to_import_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "broken_consumers.py").write_text("import no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError):
        events.load_consumers(("broken_consumers",))


def test_two_consumers_cannot_share_a_name(monkeypatch):
    monkeypatch.setattr(events, "_consumers", {})
    events.consumer("twice", "order.paid")(lambda _event: None)
    with pytest.raises(ValueError, match="twice"):
        events.consumer("twice", "order.paid")(lambda _event: None)


@pytest.mark.parametrize(("attempt", "low", "high"), [(1, 1, 2), (2, 2, 4), (3, 4, 8), (9, 5, 10)])
def test_backoff_doubles_with_jitter_up_to_its_cap(attempt, low, high):
    delays = {backoff_seconds(attempt, base=2, cap=10) for _ in range(50)}
    assert all(low <= delay <= high for delay in delays)
    assert len(delays) > 1


def test_a_handler_past_its_time_limit_is_stopped():
    deadline = time.monotonic() + 10
    with pytest.raises(ConsumerTimeout), time_limit(0.05):
        while time.monotonic() < deadline:
            pass
    assert time.monotonic() < deadline


def test_background_tasks_are_acknowledged_late_and_time_limited(app):
    conf = app.extensions["celery"].conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert (conf.task_soft_time_limit, conf.task_time_limit) == (app.config["TASK_SOFT_TIME_LIMIT_SECONDS"],
                                                                  app.config["TASK_TIME_LIMIT_SECONDS"])
    assert conf.task_soft_time_limit < conf.task_time_limit
