"""Prometheus metrics. These names are the contract with monitoring/: defined here only."""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

HTTP_REQUESTS = Counter(
    "shop_http_requests_total", "HTTP requests answered, by route and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "shop_http_request_duration_seconds", "Time to answer an HTTP request, by route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ORDERS_CREATED = Counter("shop_orders_created_total", "Orders created from carts.")
ORDERS_CANCELLED = Counter("shop_orders_cancelled_total", "Orders cancelled, by cause.", ["cause"])
PAYMENTS = Counter("shop_payments_total", "Payment attempts, by outcome.", ["outcome"])
PAYMENTS_FAILED = Counter("shop_payments_failed_total", "Payment attempts the gateway declined or failed.")
STOCKOUTS = Counter("shop_stockouts_total", "Checkouts refused because stock ran out.")
CART_CONFLICTS = Counter("shop_cart_conflicts_total", "Cart updates refused for a stale version.")
CACHE_ERRORS = Counter("shop_cache_errors_total", "Catalog cache operations that could not reach Redis.",
                       ["operation"])
CONSUMER_EVENTS = Counter(
    "shop_consumer_events_total", "Events a consumer was given, by outcome: processed, duplicate (already in its "
    "inbox), retried (failed, delivered again later), dead_lettered (failed its last retry).",
    ["consumer", "outcome"],
)
# Set from the dead_letters table at each scrape (see health.metrics).
DEAD_LETTERS = Gauge("shop_dead_letters", "Dead-lettered events not replayed yet, by consumer.", ["consumer"],
                     multiprocess_mode="mostrecent")
WEBHOOKS = Counter("shop_payment_webhooks_total", "Payment webhooks received, by outcome.", ["outcome"])

# Request labels come only from these sets, so no request can add a series: a method outside
# HTTP_METHODS counts as "other", a path that matches no route as "unmatched".
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _registry() -> CollectorRegistry | None:
    # Under gunicorn each worker writes its own files; the scrape sums them.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return None


def register_metrics(app: Flask) -> None:
    @app.before_request
    def start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def record_request(response: Response) -> Response:
        started = g.pop("request_started", None)
        if started is not None and request.endpoint != "health.metrics":
            method = request.method if request.method in HTTP_METHODS else "other"
            route = request.url_rule.rule if request.url_rule is not None else "unmatched"
            HTTP_REQUESTS.labels(method, route, str(response.status_code)).inc()
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)
        return response


def refresh_dead_letters() -> None:
    """Set the dead letters gauge from the table; left as it was while the database is unreachable."""
    from sqlalchemy.exc import SQLAlchemyError

    from .events import consumers
    from .events.delivery import dead_letters_waiting
    from .extensions import db

    try:
        waiting = dead_letters_waiting()
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        return
    for consumer in set(consumers()) | set(waiting):
        DEAD_LETTERS.labels(consumer).set(waiting.get(consumer, 0))


def metrics_response() -> Response:
    registry = _registry()
    body = generate_latest(registry) if registry else generate_latest()
    return Response(body, mimetype=CONTENT_TYPE_LATEST)
