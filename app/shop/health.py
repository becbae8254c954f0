"""Liveness, readiness and the Prometheus scrape endpoint.

- ``/healthz``: the process answers (with the release it serves); the deploy waits for it.
- ``/readyz``: this host can serve, judged on what belongs to it alone; the load balancer's health
  check. The shared services (PostgreSQL, Redis, RabbitMQ) are left out on purpose: they are the
  same for every host, so a blip of one would take every host out of the load balancer at once,
  and a host taken out cannot make them come back.
- ``/readyz/dependencies``: the shared services, for monitoring.

The bodies name a failing check and nothing more (no host names, no exception text); the details
go to the log.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from flask import Blueprint, current_app, jsonify
from kombu import Connection
from sqlalchemy import text

from .extensions import cache, db
from .metrics import metrics_response, refresh_dead_letters

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)

# Settings without which the shop cannot answer a request correctly.
REQUIRED_SETTINGS = ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "SHOP_RELEASE")


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok", release=current_app.config["SHOP_RELEASE"])


def _check_config() -> None:
    missing = [name for name in REQUIRED_SETTINGS if not current_app.config.get(name)]
    if missing:
        raise RuntimeError(f"settings not set: {', '.join(missing)}")


def _check_metrics_directory() -> None:
    # Under gunicorn every request writes its metrics there: without it every request fails.
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    if not (os.path.isdir(directory) and os.access(directory, os.W_OK)):
        raise RuntimeError(f"metrics directory {directory} is not a writable directory")


def _check_database() -> None:
    db.session.execute(text("SELECT 1"))
    db.session.rollback()


def _check_cache() -> None:
    cache.set("readyz", "1", timeout=10)
    if cache.get("readyz") != "1":
        raise RuntimeError("cache did not return what was written")


def _check_broker() -> None:
    with Connection(current_app.config["BROKER_URL"], connect_timeout=2) as connection:
        connection.ensure_connection(max_retries=1, timeout=2)


def _local_checks() -> dict[str, Callable[[], None]]:
    checks = {"config": _check_config}
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        checks["metrics"] = _check_metrics_directory
    # The embedded default keeps its database in a file on this host: then it is the host's own.
    if db.engine.dialect.name == "sqlite":
        checks["database"] = _check_database
    return checks


def _dependency_checks() -> dict[str, Callable[[], None]]:
    checks = {"database": _check_database, "cache": _check_cache}
    if current_app.config["BROKER_URL"]:
        checks["broker"] = _check_broker
    return checks


def _report(probe: str, checks: dict[str, Callable[[], None]]):
    results = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception:  # noqa: BLE001 - any failure means not ready; the log has the details
            log.warning("%s: the %s check fails", probe, name, exc_info=True)
            results[name] = "failing"
    ready = all(result == "ok" for result in results.values())
    return jsonify(status="ready" if ready else "not ready", checks=results), 200 if ready else 503


@bp.get("/readyz")
def readyz():
    return _report("readyz", _local_checks())


@bp.get("/readyz/dependencies")
def readyz_dependencies():
    return _report("readyz/dependencies", _dependency_checks())


@bp.get("/metrics")
def metrics():
    refresh_dead_letters()
    return metrics_response(current_app._get_current_object())
