"""Liveness, readiness and the Prometheus scrape endpoint."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from kombu import Connection
from sqlalchemy import text

from .extensions import cache, db
from .metrics import metrics_response

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok", release=current_app.config["SHOP_RELEASE"])


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


@bp.get("/readyz")
def readyz():
    checks = {"database": _check_database, "cache": _check_cache}
    if current_app.config["BROKER_URL"]:
        checks["broker"] = _check_broker
    results, failing = {}, []
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:  # noqa: BLE001 - any failure means not ready
            results[name] = f"failing: {error.__class__.__name__}: {error}"[:300]
            failing.append(name)
    status = 503 if failing else 200
    body = {"status": "ready" if not failing else "not ready", "checks": results}
    if failing:
        body["failing"] = failing
    return jsonify(body), status


@bp.get("/metrics")
def metrics():
    return metrics_response()
