"""The dashboards, as builder functions over Grafana's foundation SDK with shared panel defaults.

`python -m monitoring.generate` writes each as sorted JSON to monitoring/dashboards/<key>.json,
which Grafana loads through monitoring/dashboards/provisioning/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from monitoring import alerts, slo
from monitoring.links import DASHBOARDS

# The Prometheus data source every panel reads (its uid in provisioning/datasources.yml).
DATASOURCE = DataSourceRef(type_val="prometheus", uid="prometheus")
# Panels: half the 24-column grid wide, 8 rows high; stats a quarter wide and 4 high.
PANEL_SPAN, PANEL_HEIGHT = 12, 8
STAT_SPAN, STAT_HEIGHT = 6, 4
# What a dashboard shows when opened, and how often it refreshes.
TIME_FROM, REFRESH = "now-6h", "1m"
# Deploy markers: an annotation where a release's shop_release_info series first appears.
DEPLOYS = "count by (release) (shop_release_info) unless count by (release) (shop_release_info offset 5m)"
RATE = "$__rate_interval"

Builder = Callable[[], dashboard.Dashboard]


def _target(expr: str, legend: str) -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend).datasource(DATASOURCE)


def graph(title: str, unit: str, *queries: tuple[str, str], description: str = "") -> timeseries.Panel:
    """A time series panel: each query is (PromQL, legend)."""
    panel = (timeseries.Panel().title(title).description(description).unit(unit).datasource(DATASOURCE)
             .span(PANEL_SPAN).height(PANEL_HEIGHT).line_width(1).fill_opacity(10).min(0))
    for expr, legend in queries:
        panel = panel.with_target(_target(expr, legend))
    return panel


def single(title: str, unit: str, expr: str, legend: str = "", description: str = "") -> stat.Panel:
    """One number, as it is now."""
    return (stat.Panel().title(title).description(description).unit(unit).datasource(DATASOURCE)
            .span(STAT_SPAN).height(STAT_HEIGHT).with_target(_target(expr, legend)))


def _dashboard(key: str, description: str, *panels) -> dashboard.Dashboard:
    uid, title = DASHBOARDS[key]
    board = (dashboard.Dashboard(title).uid(uid).description(description).tags(["shop"]).timezone("utc")
             .time(TIME_FROM, "now").refresh(REFRESH).editable()
             .annotation(dashboard.AnnotationQuery().name("Deploys").datasource(DATASOURCE).enable(True)
                         .icon_color("blue").expr(DEPLOYS)))
    for panel in panels:
        board = board.with_row(panel) if isinstance(panel, dashboard.Row) else board.with_panel(panel)
    return board


def overview() -> dashboard.Dashboard:
    per_route = "sum by (route) (rate(shop_http_requests_total{selector}[" + RATE + "]))"
    requests = per_route.format(selector="")
    server_errors = per_route.format(selector='{status=~"5.."}')
    return _dashboard(
        "overview", "Rate, errors and duration of every route of the shop, and the services under it.",
        dashboard.Row("Requests (RED per route)"),
        graph("Requests per second", "reqps", (requests, "{{route}}")),
        graph("Server errors (5xx share)", "percentunit", (f"{server_errors}\n/\n{requests}", "{{route}}")),
        graph("Duration, 95th percentile", "s",
              ("histogram_quantile(0.95, sum by (route, le) "
               f"(rate(shop_http_request_duration_seconds_bucket[{RATE}])))", "{{route}}")),
        graph("Duration, median", "s",
              ("histogram_quantile(0.5, sum by (route, le) "
               f"(rate(shop_http_request_duration_seconds_bucket[{RATE}])))", "{{route}}")),
        dashboard.Row("Services"),
        graph("Scrape targets up", "short",
              ("sum by (job) (up)", "{{job}} up"), ("count by (job) (up)", "{{job}} all")),
        graph("PostgreSQL connections used", "percentunit",
              ("sum by (instance) (pg_stat_activity_count) / sum by (instance) (pg_settings_max_connections)",
               "{{instance}}")),
        graph("Catalog cache hit rate", "percentunit",
              (f'sum by (kind) (rate(shop_catalog_cache_lookups_total{{result="hit"}}[{RATE}]))\n/\n'
               f"sum by (kind) (rate(shop_catalog_cache_lookups_total[{RATE}]))", "{{kind}}"),
              description="Product pages and listings answered from a process's memory or Redis, not the database."),
        graph("Redis memory used", "bytes", ("redis_memory_used_bytes", "{{instance}}"),
              ("redis_memory_max_bytes", "{{instance}} maxmemory")),
        graph("TLS certificate lifetime left", "d",
              ("(probe_ssl_earliest_cert_expiry - time()) / 86400", "{{instance}}")),
    )


def slos() -> dashboard.Dashboard:
    spec = slo.load()
    panels = []
    for objective in spec.slos:
        selector = f'{{slo="{objective.name}"}}'
        panels += [
            dashboard.Row(f"{objective.name}: {objective.description}"),
            single("Error budget remaining", "percentunit", f"slo:error_budget_remaining:ratio{selector}",
                   description=f"Share of the {spec.period} error budget not yet spent."),
            single("Objective", "percentunit", f"slo:objective:ratio{selector}"),
            graph("Error ratio", "percentunit",
                  *[(f"slo:sli_error:ratio_rate{w}{selector}", w) for w in ("5m", "1h", "6h")],
                  (f"1 - slo:objective:ratio{selector}", "error budget")),
        ]
    return _dashboard(
        "slos", "Each SLO of monitoring/slo/slos.yml: its error ratio and the error budget left.",
        *panels,
        dashboard.Row("Burn rates"),
        graph("Burn rate over 1h (1 spends the budget exactly over the period)", "short",
              ("slo:sli_error:ratio_rate1h / on (slo) (1 - slo:objective:ratio)", "{{slo}}")),
    )


def business() -> dashboard.Dashboard:
    per_minute = "sum by ({by}) (rate({metric}[" + RATE + "])) * 60"
    funnel = [
        ("/api/v1/carts/<cart_id>/items|/cart/items", "added to a cart"),
        ("/api/v1/orders|/checkout", "checked out"),
        ("/api/v1/orders/<int:order_id>/payments|/orders/<int:order_id>/pay", "paid"),
    ]
    return _dashboard(
        "business", "Orders, payments, revenue and the checkout funnel.",
        dashboard.Row("Orders and payments"),
        graph("Orders per minute", "short",
              (f"sum(rate(shop_orders_created_total[{RATE}])) * 60", "created"),
              (per_minute.format(by="cause", metric="shop_orders_cancelled_total"), "cancelled: {{cause}}")),
        graph("Payments per minute", "short",
              (per_minute.format(by="outcome", metric="shop_payments_total"), "{{outcome}}")),
        graph("Payment failure ratio", "percentunit",
              (f'sum(rate(shop_payments_total{{outcome="failed"}}[{RATE}]))\n'
               f'/ sum(rate(shop_payments_total{{outcome=~"succeeded|failed"}}[{RATE}]))', "failed")),
        graph("Revenue per hour", "currencyEUR",
              (f"sum by (currency) (rate(shop_order_revenue_cents_total[{RATE}])) * 3600 / 100", "{{currency}}")),
        dashboard.Row("Funnel"),
        graph("Checkout funnel, successful requests per minute", "short",
              *[(f'sum(rate(shop_http_requests_total{{route=~"{routes}",status=~"2..|3.."}}[{RATE}])) * 60',
                 step) for routes, step in funnel]),
        graph("Refused: stockouts, stale carts, webhooks", "short",
              (f"sum(rate(shop_stockouts_total[{RATE}])) * 60", "stockouts"),
              (f"sum(rate(shop_cart_conflicts_total[{RATE}])) * 60", "cart conflicts"),
              (per_minute.format(by="outcome", metric="shop_payment_webhooks_total"), "webhooks: {{outcome}}")),
        dashboard.Row("Should be zero"),
        single("Orders pending past their reservation", "short", "max(shop_orders_pending_payment_overdue)"),
        single("Paid orders not shipped after two days", "short", "max(shop_orders_paid_unshipped_overdue)"),
        single("Products with negative stock", "short", "max(shop_products_negative_stock)"),
    )


def queues() -> dashboard.Dashboard:
    by_queue = "sum by (queue) ({metric})"
    return _dashboard(
        "queues", "The worker's queues in RabbitMQ: depth, consumers, throughput and dead letters.",
        graph("Ready messages", "short", (by_queue.format(metric="rabbitmq_queue_messages_ready"), "{{queue}}")),
        graph("Delivered, not yet acknowledged", "short",
              (by_queue.format(metric="rabbitmq_queue_messages_unacked"), "{{queue}}")),
        graph("Consumers (workers)", "short", (by_queue.format(metric="rabbitmq_queue_consumers"), "{{queue}}")),
        graph("Published per second", "short",
              (by_queue.format(metric=f"rate(rabbitmq_queue_messages_published_total[{RATE}])"), "{{queue}}")),
        graph("Dead-lettered messages", "short",
              (by_queue.format(metric=f'rabbitmq_queue_messages{{queue=~"{alerts.DEAD_LETTER_QUEUES}"}}'),
               "{{queue}}")),
    )


def hosts() -> dashboard.Dashboard:
    disks = f'{{fstype!~"{alerts.PSEUDO_FILESYSTEMS}"}}'
    return _dashboard(
        "hosts", "Utilisation, saturation and errors of every host's CPU, memory, disks and network.",
        graph("CPU utilisation", "percentunit",
              (f'sum by (instance) (rate(node_cpu_seconds_total{{mode!="idle"}}[{RATE}]))\n'
               f"/ sum by (instance) (rate(node_cpu_seconds_total[{RATE}]))", "{{instance}}")),
        graph("CPU saturation (load per CPU)", "short",
              ('node_load1 / on (instance) count by (instance) (node_cpu_seconds_total{mode="idle"})',
               "{{instance}}")),
        graph("Memory utilisation", "percentunit",
              ("1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes", "{{instance}}")),
        graph("Memory saturation (major page faults)", "short",
              (f"rate(node_vmstat_pgmajfault[{RATE}])", "{{instance}}")),
        graph("Disk space used", "percentunit",
              (f"1 - node_filesystem_avail_bytes{disks} / node_filesystem_size_bytes{disks}",
               "{{instance}} {{mountpoint}}")),
        graph("Disk busy", "percentunit",
              (f"rate(node_disk_io_time_seconds_total[{RATE}])", "{{instance}} {{device}}")),
        graph("Network", "Bps",
              (f"sum by (instance) (rate(node_network_receive_bytes_total[{RATE}]))", "{{instance}} in"),
              (f"sum by (instance) (rate(node_network_transmit_bytes_total[{RATE}]))", "{{instance}} out")),
    )


BUILDERS: dict[str, Builder] = {
    "overview": overview, "slos": slos, "business": business, "queues": queues, "hosts": hosts,
}


def _as_dict(board: dashboard.Dashboard) -> dict:
    model = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    # Links to a panel name it by id: number them in order, rows included.
    for number, panel in enumerate(model["panels"], start=1):
        panel["id"] = number
    # The SDK has no fields for a Prometheus annotation's title and tags: set them here.
    for annotation in model["annotations"]["list"]:
        if annotation.get("expr") == DEPLOYS:
            annotation.update(titleFormat="Deploy {{release}}", tagKeys="release")
    return model


def dashboards() -> dict[str, dict]:
    return {key: _as_dict(build()) for key, build in BUILDERS.items()}


def queries(model: dict) -> list[str]:
    """Every PromQL expression of a dashboard's panels and annotations."""
    panels = model["panels"] + [inner for p in model["panels"] for inner in p.get("panels", [])]
    exprs = [t["expr"] for p in panels for t in p.get("targets", []) if "expr" in t]
    return exprs + [a["expr"] for a in model["annotations"]["list"] if a.get("expr")]


def without_grafana_variables(expr: str) -> str:
    """A panel's query as Prometheus would receive it (Grafana's interval variables filled in)."""
    return re.sub(r"\$__(rate_interval|interval|range)", "5m", expr)
