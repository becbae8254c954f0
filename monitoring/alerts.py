"""Cause alerts: something is broken or about to break, whether or not customers feel it yet.

Each alert is written once here; `python -m monitoring.generate` writes them to
monitoring/rules/causes.yml with their runbook and dashboard links. Metric names come from
monitoring/metrics.py (a test checks every one).
"""

from __future__ import annotations

from dataclasses import dataclass

from monitoring.links import annotations

# The queue the Celery worker consumes (Celery's default) and the dead-letter queues' names.
WORKER_QUEUE = "celery"
DEAD_LETTER_QUEUES = ".+[.-](dlq|dead-letter)"
# The ready messages of every queue but the dead-letter ones.
QUEUE_READY = f'rabbitmq_queue_messages_ready{{queue!~"{DEAD_LETTER_QUEUES}"}}'
# Filesystems that are not the host's disks.
PSEUDO_FILESYSTEMS = "tmpfs|ramfs|overlay|squashfs|nsfs|fuse.*"


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    severity: str  # critical pages someone; warning opens a ticket; info is only seen on dashboards
    summary: str  # fixed text: the same for every firing, so notifications group
    description: str  # templated with the labels and value of this firing
    dashboard: str  # a key of monitoring.links.DASHBOARDS
    for_: str = "0m"

    def rule(self) -> dict:
        rule = {"alert": self.name, "expr": self.expr}
        if self.for_ != "0m":
            rule["for"] = self.for_
        rule["labels"] = {"severity": self.severity}
        rule["annotations"] = annotations(self.name, self.summary, self.description, self.dashboard)
        return rule


HOSTS = [
    Alert(
        name="ShopHostDown",
        expr='up{job="node"} == 0',
        for_="2m",
        severity="critical",
        summary="A host stopped answering Prometheus.",
        description="{{ $labels.instance }} ({{ $labels.role }}) has not answered a scrape for 2 minutes.",
        dashboard="hosts",
    ),
    Alert(
        name="ShopScrapeTargetDown",
        expr='up{job!="node"} == 0',
        for_="5m",
        severity="warning",
        summary="A service's metrics endpoint stopped answering Prometheus.",
        description="The {{ $labels.job }} target on {{ $labels.instance }} has failed its scrapes for 5 minutes.",
        dashboard="overview",
    ),
    Alert(
        name="ShopDiskSpaceLow",
        expr=(
            f'node_filesystem_avail_bytes{{fstype!~"{PSEUDO_FILESYSTEMS}"}}\n'
            f'/ node_filesystem_size_bytes{{fstype!~"{PSEUDO_FILESYSTEMS}"}} < 0.15\n'
            f'and node_filesystem_readonly{{fstype!~"{PSEUDO_FILESYSTEMS}"}} == 0'
        ),
        for_="15m",
        severity="warning",
        summary="A filesystem has less than 15% free space.",
        description="{{ $labels.mountpoint }} on {{ $labels.instance }} has {{ $value | humanizePercentage }} free.",
        dashboard="hosts",
    ),
    Alert(
        name="ShopDiskFillingUp",
        expr=(
            f'predict_linear(node_filesystem_avail_bytes{{fstype!~"{PSEUDO_FILESYSTEMS}"}}[6h], 4 * 3600) < 0\n'
            f'and node_filesystem_avail_bytes{{fstype!~"{PSEUDO_FILESYSTEMS}"}}\n'
            f'/ node_filesystem_size_bytes{{fstype!~"{PSEUDO_FILESYSTEMS}"}} < 0.25\n'
            f'and node_filesystem_readonly{{fstype!~"{PSEUDO_FILESYSTEMS}"}} == 0'
        ),
        for_="30m",
        severity="critical",
        summary="A filesystem will be full within four hours at its current rate.",
        description="{{ $labels.mountpoint }} on {{ $labels.instance }} fills up within 4 hours at the rate of "
                    "the last 6 hours.",
        dashboard="hosts",
    ),
    Alert(
        name="ShopMemoryLow",
        expr="node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < 0.10",
        for_="15m",
        severity="warning",
        summary="A host has less than 10% of its memory available.",
        description="{{ $labels.instance }} has {{ $value | humanizePercentage }} of its memory available.",
        dashboard="hosts",
    ),
    Alert(
        name="ShopCPUSaturated",
        expr=(
            'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))\n'
            "/ sum by (instance) (rate(node_cpu_seconds_total[5m])) > 0.9"
        ),
        for_="15m",
        severity="warning",
        summary="A host's CPUs have been more than 90% busy for 15 minutes.",
        description="{{ $labels.instance }}'s CPUs are {{ $value | humanizePercentage }} busy.",
        dashboard="hosts",
    ),
]

QUEUES = [
    Alert(
        name="ShopQueueBacklog",
        expr=f'sum by (instance, vhost, queue) (rabbitmq_queue_messages_ready{{queue!~"{DEAD_LETTER_QUEUES}"}}) > 500',
        for_="10m",
        severity="warning",
        summary="Messages are piling up in a queue faster than the workers take them.",
        description="{{ $labels.queue }} on {{ $labels.vhost }} has held more than 500 ready messages for "
                    "10 minutes (now {{ $value }}).",
        dashboard="queues",
    ),
    # RabbitMQ's Prometheus plugin has no age of the oldest message: a queue that has not once been
    # empty for 15 minutes, while workers take one job at a time, holds messages that have waited.
    # Only a queue that is there now and was 15 minutes ago: the minimum of a queue deleted since (or
    # declared a minute ago) covers only the scrapes it had, so it would claim a wait nobody had.
    Alert(
        name="ShopQueueNeverDrains",
        expr=f'min_over_time({QUEUE_READY}[15m]) > 0 and {QUEUE_READY} and {QUEUE_READY} offset 15m',
        severity="warning",
        summary="A queue has not been empty once in 15 minutes: its messages wait.",
        description="{{ $labels.queue }} on {{ $labels.vhost }} has had at least {{ $value }} ready messages "
                    "at every scrape for 15 minutes.",
        dashboard="queues",
    ),
    Alert(
        name="ShopDeadLettersPresent",
        expr=f'sum by (instance, vhost, queue) (rabbitmq_queue_messages{{queue=~"{DEAD_LETTER_QUEUES}"}}) > 0',
        for_="5m",
        severity="warning",
        summary="A dead-letter queue holds messages: jobs failed for good.",
        description="{{ $labels.queue }} on {{ $labels.vhost }} holds {{ $value }} dead-lettered messages.",
        dashboard="queues",
    ),
    Alert(
        name="ShopWorkerAbsent",
        expr=f'sum by (instance, vhost, queue) (rabbitmq_queue_consumers{{queue="{WORKER_QUEUE}"}}) == 0',
        for_="5m",
        severity="critical",
        summary="No worker consumes the shop's job queue.",
        description="The {{ $labels.queue }} queue on {{ $labels.vhost }} has had no consumer for 5 minutes: "
                    "no payments settle, no reservations expire, no events are relayed.",
        dashboard="queues",
    ),
]

DATA = [
    Alert(
        name="ShopDatabaseDown",
        expr="pg_up == 0",
        for_="2m",
        severity="critical",
        summary="PostgreSQL does not answer its exporter.",
        description="postgres_exporter on {{ $labels.instance }} has not reached PostgreSQL for 2 minutes.",
        dashboard="overview",
    ),
    Alert(
        name="ShopDatabaseConnectionsNearLimit",
        expr=(
            "sum by (instance) (pg_stat_activity_count)\n"
            "/ sum by (instance) (pg_settings_max_connections) > 0.8"
        ),
        for_="10m",
        severity="warning",
        summary="PostgreSQL uses more than 80% of its connection limit.",
        description="{{ $labels.instance }} uses {{ $value | humanizePercentage }} of max_connections.",
        dashboard="overview",
    ),
    Alert(
        name="ShopRedisDown",
        expr="redis_up == 0",
        for_="2m",
        severity="critical",
        summary="Redis does not answer its exporter.",
        description="redis_exporter on {{ $labels.instance }} has not reached Redis for 2 minutes.",
        dashboard="overview",
    ),
    Alert(
        name="ShopRedisMemoryHigh",
        expr="redis_memory_used_bytes / redis_memory_max_bytes > 0.9 and redis_memory_max_bytes > 0",
        for_="10m",
        severity="warning",
        summary="Redis uses more than 90% of its maxmemory.",
        description="Redis on {{ $labels.instance }} uses {{ $value | humanizePercentage }} of its maxmemory.",
        dashboard="overview",
    ),
]

BUSINESS = [
    Alert(
        name="ShopPaymentFailureRateHigh",
        expr=(
            'sum(rate(shop_payments_total{outcome="failed"}[10m]))\n'
            '/ sum(rate(shop_payments_total{outcome=~"succeeded|failed"}[10m])) > 0.25\n'
            'and sum(rate(shop_payments_total{outcome=~"succeeded|failed"}[10m])) > 0.01'
        ),
        for_="5m",
        severity="critical",
        summary="More than a quarter of payments fail.",
        description="{{ $value | humanizePercentage }} of the payments of the last 10 minutes failed.",
        dashboard="business",
    ),
    Alert(
        name="ShopOrdersStuckPendingPayment",
        expr="max(shop_orders_pending_payment_overdue) > 0",
        for_="10m",
        severity="warning",
        summary="Orders are still pending payment after their reservation expired.",
        description="{{ $value }} orders hold stock past their reservation: the expiry sweep is not running.",
        dashboard="business",
    ),
    Alert(
        name="ShopPaidOrdersNotShipped",
        expr="max(shop_orders_paid_unshipped_overdue) > 0",
        for_="1h",
        severity="warning",
        summary="Orders paid more than two days ago have not shipped.",
        description="{{ $value }} paid orders have waited more than two days for their shipment.",
        dashboard="business",
    ),
    Alert(
        name="ShopNegativeStock",
        expr="max(shop_products_negative_stock) > 0",
        severity="critical",
        summary="Products have negative stock: the shop sold what it does not have.",
        description="{{ $value }} products have stock below zero.",
        dashboard="business",
    ),
    Alert(
        name="ShopCertificateExpiringSoon",
        expr="probe_ssl_earliest_cert_expiry - time() < 14 * 86400",
        severity="warning",
        summary="A TLS certificate the shop serves expires within 14 days.",
        description="The certificate served at {{ $labels.instance }} expires in "
                    "{{ $value | humanizeDuration }}.",
        dashboard="overview",
    ),
]

ALERTS = HOSTS + QUEUES + DATA + BUSINESS


def rule_groups() -> dict:
    groups = {"shop-hosts": HOSTS, "shop-queues": QUEUES, "shop-data": DATA, "shop-business": BUSINESS}
    return {"groups": [{"name": name, "rules": [a.rule() for a in alerts]} for name, alerts in groups.items()]}
