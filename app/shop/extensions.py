"""Extensions, created unbound and bound to an app in create_app()."""

from __future__ import annotations

from typing import TYPE_CHECKING

from celery import Celery, Task
from flask import Flask, current_app, has_app_context
from flask_caching import Cache
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from .errors import Problem

if TYPE_CHECKING:
    from .logistics.carrier import Carrier
    from .payments.gateway import PaymentGateway

# Stable constraint names so Alembic migrations read the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Model(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Model)
# The base every model subclasses. At run time it is db.Model (Flask-SQLAlchemy's subclass of Model,
# which names tables and binds sessions); a type checker cannot follow an attribute as a base
# class, so it is shown Model, the declarative base db.Model extends.
if TYPE_CHECKING:
    BaseModel = Model
else:
    BaseModel = db.Model
cache = Cache()


def init_cache(app: Flask) -> None:
    timeout = app.config["CACHE_SOCKET_TIMEOUT_SECONDS"]
    if app.config["REDIS_URL"]:
        settings = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": app.config["REDIS_URL"],
                    "CACHE_OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout}}
    else:
        settings = {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 5000}
    settings |= {"CACHE_KEY_PREFIX": "shop:", "CACHE_DEFAULT_TIMEOUT": app.config["CACHE_TIMEOUT_SECONDS"]}
    cache.init_app(app, config=settings)
    if app.config["REDIS_URL"] and app.config["CATALOG_NEAR_CACHE_SECONDS"] > 0:
        from .catalog.near_cache import NearCache

        app.extensions["near_cache"] = NearCache(app.config["REDIS_URL"], app.config["CATALOG_NEAR_CACHE_SECONDS"],
                                                 timeout_seconds=timeout)


def init_celery(app: Flask) -> Celery:
    """Celery bound to the app: tasks run inside an app context.

    With no broker configured, tasks run eagerly in the calling process (the embedded default).
    """

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            # A task run in-process (no broker) inside a request reuses the request's context and
            # database session: a second session would hold a second pooled connection per thread.
            if has_app_context() and current_app._get_current_object() is app:
                return self.run(*args, **kwargs)
            with app.app_context():
                return self.run(*args, **kwargs)

    broker = app.config["BROKER_URL"]
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.conf.update(
        broker_url=broker or "memory://",
        task_always_eager=not broker,
        task_eager_propagates=True,
        task_ignore_result=True,
        # A job is acknowledged only after it ran, so a killed worker's job is redelivered.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=app.config["TASK_SOFT_TIME_LIMIT_SECONDS"],
        task_time_limit=app.config["TASK_TIME_LIMIT_SECONDS"],
        broker_connection_retry_on_startup=True,
        # A web request that cannot reach the broker gives up within a second: what it wanted to
        # send is in the outbox, and the periodic relay sends it once the broker is back.
        broker_transport_options={"max_retries": 2, "interval_start": 0, "interval_step": 0.3, "interval_max": 0.5},
        beat_schedule={
            "release-expired-reservations": {
                "task": "shop.tasks.release_expired_reservations",
                "schedule": 60.0,
            },
            "relay-outbox": {"task": "shop.tasks.relay_outbox", "schedule": 5.0},
            "reconcile-payments": {"task": "shop.tasks.reconcile_payments", "schedule": 60.0},
            # The sandbox carrier's clock: its parcels' due events happen, pushed as webhooks.
            "advance-sandbox-carrier": {"task": "shop.tasks.advance_sandbox_carrier",
                                       "schedule": app.config["SANDBOX_CARRIER_ADVANCE_SECONDS"]},
            # Tracking of carriers that send no webhooks, shipments stuck booking, the shipment gauges.
            "follow-shipments": {"task": "shop.tasks.follow_shipments", "schedule": 300.0},
            # The sandbox's bank confirms charges SANDBOX_CONFIRMATION_SECONDS after they are made.
            "confirm-sandbox-payments": {"task": "shop.tasks.confirm_sandbox_payments", "schedule": 2.0},
        },
    )
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def init_payment_gateway(app: Flask) -> None:
    """The gateway named by PAYMENT_GATEWAY. Only the sandbox is built in; another gateway's
    extension installs itself under the same key."""
    if app.config["PAYMENT_GATEWAY"] == "sandbox":
        from .payments.sandbox import SandboxGateway

        app.extensions["payment_gateway"] = SandboxGateway()


def payment_gateway() -> PaymentGateway:
    gateway = current_app.extensions.get("payment_gateway")
    if gateway is None:
        raise Problem(503, "No payment gateway", "The shop has no payment gateway configured (PAYMENT_GATEWAY).",
                      type_="no-payment-gateway")
    return gateway


def init_carrier(app: Flask) -> None:
    """The carrier named by CARRIER. Only the sandbox is built in; another carrier's extension
    installs itself under the same key."""
    if app.config["CARRIER"] == "sandbox":
        from .logistics.sandbox import SandboxCarrier

        app.extensions["carrier"] = SandboxCarrier(time_scale=app.config["SANDBOX_CARRIER_TIME_SCALE"])


def carrier() -> Carrier | None:
    return current_app.extensions.get("carrier")
