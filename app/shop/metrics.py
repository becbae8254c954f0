"""Prometheus metrics. These names are the contract with monitoring/: defined here only."""

from __future__ import annotations

import functools
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
from prometheus_client.core import GaugeMetricFamily

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
# Each outcome's series exists from the process's start, at 0: a series that first appears already
# counted loses all it counted before its first scrape (rate() needs two samples), so the burst of
# declines a card-testing attack or a gateway outage brings right after a restart would not show
# in ShopPaymentFailureRateHigh.
PAYMENT_OUTCOMES = ("succeeded", "failed", "invalid_card", "abandoned")
for _outcome in PAYMENT_OUTCOMES:
    PAYMENTS.labels(outcome=_outcome)
STOCKOUTS = Counter("shop_stockouts_total", "Checkouts refused because stock ran out.")
CART_CONFLICTS = Counter("shop_cart_conflicts_total", "Cart updates refused for a stale version.")
CACHE_ERRORS = Counter("shop_cache_errors_total", "Catalog cache operations that could not reach Redis.",
                       ["operation"])
CATALOG_CACHE = Counter(
    "shop_catalog_cache_lookups_total", "Catalog documents looked up in the cache, by kind (product, products, "
    "recommendations, categories, search_words) and result: hit (this process's memory or Redis) or miss (read from "
    "the database).", ["kind", "result"],
)
CARRIER_EVENTS = Counter("shop_carrier_events_total", "New carrier tracking events, by how they came (webhook|poll).",
                         ["source"])
# Set by the shipment-following task (every few minutes), from the database.
SHIPMENTS_BY_STATUS = Gauge("shop_shipments_by_status", "Shipments in each status.", ["status"],
                            multiprocess_mode="mostrecent")
SHIPMENTS_LATE = Gauge("shop_shipments_late", "Shipments past their ETA whose journey has not ended.",
                       multiprocess_mode="mostrecent")
CONSUMER_EVENTS = Counter(
    "shop_consumer_events_total", "Events a consumer was given, by outcome: processed, duplicate (already in its "
    "inbox), retried (failed, delivered again later), dead_lettered (failed its last retry).",
    ["consumer", "outcome"],
)
# Set from the dead_letters table at each scrape (see health.metrics).
DEAD_LETTERS = Gauge("shop_dead_letters", "Dead-lettered events not replayed yet, by consumer.", ["consumer"],
                     multiprocess_mode="mostrecent")
WEBHOOKS = Counter("shop_payment_webhooks_total", "Payment webhooks received, by outcome.", ["outcome"])
REVENUE = Counter("shop_order_revenue_cents", "Totals of the orders paid, in minor units of their currency.",
                  ["currency"])

# Gauges the scrape reads from the database (ShopStateCollector): name -> (count, help). Each
# should stay at zero; every web host reports the same number, so alerts take their max.
STATE_GAUGES = {
    "shop_orders_pending_payment_overdue": (
        "pending_payment_overdue",
        "Orders still pending payment after their reservation ran out (the expiry sweep missed them)."),
    "shop_orders_paid_unshipped_overdue": (
        "paid_unshipped_overdue", "Orders paid longer ago than the shipping deadline and not shipped yet."),
    "shop_products_negative_stock": ("negative_stock", "Products whose stock on hand is below zero (oversold)."),
    "shop_support_tickets_overdue": (
        "tickets_overdue", "Open support tickets whose answer is past its due time."),
}
# The release a process runs, always 1: dashboards mark deploys where a new release appears.
RELEASE_INFO = "shop_release_info"

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
            _requests(method, route, response.status_code).inc()
            _latency(method, route).observe(time.perf_counter() - started)
        return response


# The labelled series, found once each: labels() validates and locks on every call. Labels come
# from fixed sets (see HTTP_METHODS), so these hold a bounded number of series.
@functools.cache
def _requests(method: str, route: str, status: int):
    return HTTP_REQUESTS.labels(method, route, str(status))


@functools.cache
def _latency(method: str, route: str):
    return HTTP_LATENCY.labels(method, route)


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


class ShopStateCollector:
    """What the database says at scrape time: the release, and counts that must stay at zero (orders
    the expiry sweep missed, paid orders not shipped in time, oversold products, support tickets
    answered late). Every web host
    reports the same counts; alerts take the max across hosts. A database that cannot answer leaves
    the counts out (its own alert says so) rather than failing the scrape."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        release = GaugeMetricFamily(RELEASE_INFO, "The release this process runs (always 1).", labels=["release"])
        release.add_metric([self.app.config["SHOP_RELEASE"]], 1)
        yield release
        from .orders.queries import state_counts
        from .support.service import overdue_count

        try:
            counts = {**state_counts(self.app.config["ORDER_SHIPPING_DEADLINE_SECONDS"]),
                      "tickets_overdue": overdue_count()}
        except Exception:  # noqa: BLE001 - the scrape still reports the process's own metrics
            self.app.logger.warning("/metrics: the database did not answer the state counts", exc_info=True)
            return
        for name, (count, documentation) in STATE_GAUGES.items():
            yield GaugeMetricFamily(name, documentation, value=counts[count])


def metrics_response(app: Flask) -> Response:
    registry = _registry()
    body = generate_latest(registry) if registry else generate_latest()
    state = CollectorRegistry(auto_describe=False)
    state.register(ShopStateCollector(app))
    return Response(body + generate_latest(state), mimetype=CONTENT_TYPE_LATEST)
