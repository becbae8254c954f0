"""Every metric name monitoring/ may query: the one list rules and dashboards are checked against.

The shop's own names are read from `shop.metrics` (the app's contract with monitoring), never
retyped; the exporters' names are copied from their documentation, each list naming its source.
"""

from __future__ import annotations

from types import ModuleType

import promql_parser
from prometheus_client.metrics import MetricWrapperBase

import shop.metrics

# The series prometheus_client exposes for each metric type (multiprocess mode drops `_created`).
_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("_count", "_sum"),
    "info": ("_info",),
    "stateset": ("",),
    "enum": ("",),
}


def exposed_names(module: ModuleType) -> frozenset[str]:
    """The series names a module's prometheus_client metrics appear under on /metrics."""
    return frozenset(
        metric._name + suffix
        for metric in vars(module).values() if isinstance(metric, MetricWrapperBase)
        for suffix in _SUFFIXES[metric._type]
    )


APP = exposed_names(shop.metrics) | frozenset(shop.metrics.STATE_GAUGES) | {shop.metrics.RELEASE_INFO}

# Business metrics the alerts and dashboards need that the app does not expose yet. Each is
# written against this name; the app adds it to shop/metrics.py and then it moves to APP.
EXPECTED_APP: dict[str, str] = {}

# https://github.com/prometheus/node_exporter (Debian's prometheus-node-exporter, default collectors).
NODE_EXPORTER = frozenset({
    "node_cpu_seconds_total",
    "node_load1",
    "node_memory_MemAvailable_bytes",
    "node_memory_MemTotal_bytes",
    "node_filesystem_avail_bytes",
    "node_filesystem_size_bytes",
    "node_filesystem_readonly",
    "node_disk_io_time_seconds_total",
    "node_network_receive_bytes_total",
    "node_network_transmit_bytes_total",
    "node_vmstat_pgmajfault",
})

# https://github.com/prometheus-community/postgres_exporter
POSTGRES_EXPORTER = frozenset({"pg_up", "pg_stat_activity_count", "pg_settings_max_connections"})

# https://github.com/oliver006/redis_exporter
REDIS_EXPORTER = frozenset({
    "redis_up",
    "redis_memory_used_bytes",
    "redis_memory_max_bytes",
    "redis_connected_clients",
})

# RabbitMQ's own plugin (rabbitmq_prometheus), per-object endpoint /metrics/per-object:
# https://github.com/rabbitmq/rabbitmq-server/blob/main/deps/rabbitmq_prometheus/metrics.md
# It has no age of the oldest message (only the management API does).
RABBITMQ = frozenset({
    "rabbitmq_queue_messages",
    "rabbitmq_queue_messages_ready",
    "rabbitmq_queue_messages_unacked",
    "rabbitmq_queue_messages_published_total",
    "rabbitmq_queue_consumers",
})

# https://github.com/prometheus/blackbox_exporter (an HTTPS probe of the shop's public address).
BLACKBOX_EXPORTER = frozenset({"probe_success", "probe_ssl_earliest_cert_expiry"})

# Prometheus itself: a target's scrape health and its own alerts.
PROMETHEUS = frozenset({"up", "ALERTS"})

KNOWN = APP | frozenset(EXPECTED_APP) | NODE_EXPORTER | POSTGRES_EXPORTER | REDIS_EXPORTER | RABBITMQ \
    | BLACKBOX_EXPORTER | PROMETHEUS


def names_in(expr: str) -> set[str]:
    """The metric names an expression selects (a selector without a name counts as "")."""
    names: set[str] = set()

    def visit(node) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            names.add(node.name or "")

    promql_parser.walk(promql_parser.parse(expr), pre_visit=visit)
    return names
