"""The periodic jobs on the embedded default: with no broker, no celery beat runs them, so the web
process runs the same schedule itself. Its clock is driven here, so no test waits."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest

from shop.logistics.consumers import book_shipment_for
from shop.logistics.sandbox import SandboxCarrier
from shop.schedule import EmbeddedSchedule

from .test_logistics import BOOKED, order_paid, order_status, paid_order

ADVANCE_EVERY = 30.0


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SANDBOX_CARRIER_ADVANCE_SECONDS": ADVANCE_EVERY}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def booked_order(app, client):
    """A paid order booked with the sandbox long ago: its parcel's whole journey is due by now."""
    app.extensions["carrier"] = SandboxCarrier(clock=lambda: BOOKED)
    _, order = paid_order(client)
    book_shipment_for(order_paid(order))
    return order


def test_the_sandbox_carrier_moves_on_its_own_once_its_interval_has_passed(app, booked_order):
    clock = Clock()
    schedule = EmbeddedSchedule(app, clock)
    clock.now += ADVANCE_EVERY
    assert "advance-sandbox-carrier" in schedule.run_due()
    assert order_status(booked_order) == "delivered"


def test_nothing_moves_before_the_interval_has_passed(app, booked_order):
    clock = Clock()
    schedule = EmbeddedSchedule(app, clock)
    clock.now += ADVANCE_EVERY - 1
    assert "advance-sandbox-carrier" not in schedule.run_due()
    assert order_status(booked_order) == "paid"


def test_a_job_runs_again_one_interval_after_its_last_run(app):
    clock = Clock()
    schedule = EmbeddedSchedule(app, clock)
    clock.now += ADVANCE_EVERY
    schedule.run_due()
    clock.now += ADVANCE_EVERY - 1
    assert "advance-sandbox-carrier" not in schedule.run_due()
    clock.now += 1
    assert "advance-sandbox-carrier" in schedule.run_due()


def test_a_failing_job_does_not_stop_the_others(app, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise RuntimeError("the carrier is down")

    monkeypatch.setattr(app.extensions["celery"].tasks["shop.tasks.advance_sandbox_carrier"], "run", refuse)
    clock = Clock()
    schedule = EmbeddedSchedule(app, clock)
    clock.now += ADVANCE_EVERY
    ran = schedule.run_due()
    assert "advance-sandbox-carrier" in ran
    assert "reconcile-payments" not in ran  # 60 s: not due yet
    assert "relay-outbox" in ran


def test_the_schedule_waits_only_until_its_next_job(app):
    clock = Clock()
    schedule = EmbeddedSchedule(app, clock)
    shortest = min(float(entry["schedule"]) for entry in app.extensions["celery"].conf.beat_schedule.values())
    assert schedule.seconds_to_next() == shortest


@pytest.mark.parametrize(("broker", "runs"), [("", True), ("amqp://shop@mq:5672/shop", False)],
                         ids=["no-broker", "broker"])
def test_a_web_process_runs_the_schedule_only_without_a_broker(app, monkeypatch, tmp_path, broker, runs):
    # Importing gunicorn's settings points prometheus_client at a multiprocess directory for the
    # whole process; here that lasts only for this test, so other tests' metrics stay in-process.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    gunicorn_conf = importlib.import_module("shop.gunicorn_conf")
    started = []
    monkeypatch.setattr(EmbeddedSchedule, "start", lambda schedule: started.append(schedule))
    monkeypatch.setitem(app.config, "BROKER_URL", broker)
    gunicorn_conf.post_worker_init(SimpleNamespace(wsgi=app))
    assert bool(started) is runs
