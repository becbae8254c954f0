"""Background jobs. The worker runs `celery --app shop.tasks:celery_app worker`; with no broker
configured the same tasks run in-process."""

from __future__ import annotations

import logging

from celery import shared_task
from flask import Flask

from .extensions import db

log = logging.getLogger(__name__)


def __getattr__(name: str):
    # The worker's Celery app is built on first use, so importing this module does no I/O.
    if name == "celery_app":
        from . import create_app

        return create_app().extensions["celery"]
    raise AttributeError(name)


def send(task, *args, **options):
    """Queue `task`, or run it here when there is no broker.

    Not apply_async in that case: eager apply_async saves and restores a process-wide Celery flag,
    which threads running tasks at once can leave set (then every later .get() refuses to run).
    """
    if task.app.conf.task_always_eager:
        return task.apply(args, throw=True)
    return task.apply_async(args, **options)


def register_outbox_relay(app: Flask) -> None:
    """After a request that recorded events, ask for a relay at once rather than at the next sweep.

    With a broker that is a message to the worker; without one the relay runs right here. If the
    broker is down the events stay in the outbox, and the periodic relay sends them later.
    """

    @app.teardown_request
    def relay_recorded_events(error: BaseException | None) -> None:
        # A request that never opened a session (a cached read) recorded nothing: no session is made to say so.
        if not db.session.registry.has() or not db.session.info.pop("outbox_pending", False) or error is not None:
            return
        # Services commit their own work, so whatever the request left uncommitted (it failed
        # half-way) is dropped here, and the relay runs in a context and session of its own:
        # it never commits the request's work.
        db.session.rollback()
        try:
            with app.app_context():
                send(relay_outbox, retry=False)
        except Exception as failure:  # noqa: BLE001 - the outbox keeps the events for the sweep
            log.warning("could not ask for an outbox relay now (%s); the periodic relay will", failure)


@shared_task(name="shop.tasks.release_expired_reservations")
def release_expired_reservations() -> int:
    """The periodic sweep: unpaid orders give their stock back; expired Idempotency-Keys go."""
    from .idempotency import purge_expired
    from .orders.service import release_expired_reservations as release

    purge_expired()
    return release()


@shared_task(name="shop.tasks.reconcile_payments")
def reconcile_payments() -> int:
    """The periodic sweep of payments: attempts and refunds a crash left pending are finished."""
    from flask import current_app

    from .extensions import payment_gateway
    from .payments.reconcile import reconcile_payments as reconcile

    done = reconcile(payment_gateway(), current_app.config["PAYMENT_RECONCILE_GRACE_SECONDS"])
    return done.charges + done.abandoned + done.refunds


@shared_task(name="shop.tasks.confirm_sandbox_payments")
def confirm_sandbox_payments() -> int:
    """The sandbox's bank confirms the charges waiting for it (nothing without the sandbox)."""
    from flask import current_app

    from .payments.sandbox import SandboxGateway
    from .payments.service import confirm_due_sandbox_charges

    gateway = current_app.extensions.get("payment_gateway")
    if not isinstance(gateway, SandboxGateway):
        return 0
    return confirm_due_sandbox_charges(gateway, current_app.config["SANDBOX_CONFIRMATION_SECONDS"])


@shared_task(name="shop.tasks.relay_outbox")
def relay_outbox(batch: int = 100) -> int:
    """Publish committed outbox events to the event backbone (in-process without a broker)."""
    from flask import current_app

    from .events.relay import relay_events

    return relay_events(current_app.config["BROKER_URL"], batch)


@shared_task(name="shop.tasks.advance_sandbox_carrier")
def advance_sandbox_carrier(to: str | None = None) -> int:
    """The sandbox carrier's clock moves to now (or `to`, an ISO time): its parcels' due events
    happen and are pushed as signed webhooks. How many the shop applied."""
    from datetime import datetime

    from flask import current_app

    from .columns import utcnow
    from .extensions import carrier
    from .logistics.sandbox import SandboxCarrier, push_due_events

    sandbox = carrier()
    if not isinstance(sandbox, SandboxCarrier):
        return 0
    now = datetime.fromisoformat(to) if to else utcnow()
    return push_due_events(sandbox, now, current_app.config["CARRIER_WEBHOOK_SECRETS"][0],
                           current_app.config["CARRIER_WEBHOOK_TOLERANCE_SECONDS"])


@shared_task(name="shop.tasks.follow_shipments")
def follow_shipments() -> dict[str, int]:
    """Polls a carrier that sends no webhooks, finishes shipments stuck booking, sets the gauges;
    how many shipments are in each status, and late."""
    from flask import current_app

    from .extensions import carrier
    from .logistics.booking import reconcile_shipments
    from .logistics.tracking import count_shipments, poll_shipments

    shipping = carrier()
    if shipping is not None:
        reconcile_shipments(shipping, current_app.config["SHIPMENT_RECONCILE_GRACE_SECONDS"])
        if not shipping.pushes_events:
            poll_shipments(shipping)
    return count_shipments()
