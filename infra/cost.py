"""Expected monthly cost of a stack: what an offline run registers, priced from pricing.yaml.

    python -m infra.cost            # print the table for every stack

The estimate counts what the program asks for (hosts at their desired capacity, NAT gateways,
database, cache and broker nodes, alarms, secrets) plus the usage assumed in ``pricing.yaml``;
it leaves out data transfer to the internet and anything billed per request.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra import offline

PRICING = Path(__file__).with_name("pricing.yaml")


@dataclass(frozen=True)
class LineItem:
    service: str
    detail: str
    monthly_usd: float


def load_pricing() -> dict[str, Any]:
    return yaml.safe_load(PRICING.read_text())


def _price(table: Mapping[str, float], kind: str, what: str) -> float:
    try:
        return table[kind]
    except KeyError:
        raise KeyError(f"{PRICING.name} has no price for {what} {kind!r}") from None


def estimate(run: offline.StackRun, pricing: Mapping[str, Any] | None = None) -> list[LineItem]:
    prices = load_pricing() if pricing is None else pricing
    region = run.config["aws:region"]
    if region != prices["region"]:
        raise ValueError(f"{PRICING.name} prices {prices['region']}, the stack runs in {region}")
    hours = prices["hours_per_month"]
    usage = prices["usage"][run.stack]
    items: list[LineItem] = []
    templates = {r.id: r.inputs for r in run.of_type("aws:ec2/launchTemplate:LaunchTemplate")}

    for group in run.of_type("aws:autoscaling/group:Group"):
        template = templates[group.inputs["launchTemplate"]["id"]]
        count = int(group.inputs["desiredCapacity"])
        kind = template["instanceType"]
        volume_gb = sum(m["ebs"]["volumeSize"] for m in template["blockDeviceMappings"])
        monthly = count * (
            _price(prices["ec2_hour"], kind, "instance type") * hours
            + volume_gb * prices["ebs_gp3_gb_month"]
            + (prices["ec2_detailed_monitoring_month"] if template["monitoring"]["enabled"] else 0)
        )
        items.append(LineItem("EC2", f"{group.name.removesuffix('-group')}: {count} × {kind}", monthly))

    nat = len(run.of_type("aws:ec2/natGateway:NatGateway"))
    items.append(
        LineItem(
            "VPC",
            f"{nat} NAT gateway(s), {usage['nat_gb']} GB processed",
            nat * prices["nat_gateway_hour"] * hours + usage["nat_gb"] * prices["nat_gateway_gb"],
        )
    )
    addresses = len(run.of_type("aws:ec2/eip:Eip")) + sum(
        len(lb.inputs["subnets"]) for lb in run.of_type("aws:lb/loadBalancer:LoadBalancer")
    )
    items.append(LineItem("VPC", f"{addresses} public IPv4 addresses", addresses * prices["public_ipv4_hour"] * hours))
    for _ in run.of_type("aws:lb/loadBalancer:LoadBalancer"):
        items.append(
            LineItem(
                "ELB",
                f"application load balancer, {usage['alb_lcu']} LCU",
                (prices["alb_hour"] + usage["alb_lcu"] * prices["alb_lcu_hour"]) * hours,
            )
        )

    for database in run.of_type("aws:rds/instance:Instance"):
        props = database.inputs
        copies = 2 if props.get("multiAz") else 1
        kind = props["instanceClass"]
        monthly = copies * (
            _price(prices["rds_postgres_hour"], kind, "database class") * hours
            + props["allocatedStorage"] * prices["rds_gp3_gb_month"]
        )
        layout = "Multi-AZ" if copies == 2 else "single-AZ"
        items.append(LineItem("RDS", f"{kind} {layout}, {props['allocatedStorage']:g} GB gp3", monthly))

    for group in run.of_type("aws:elasticache/replicationGroup:ReplicationGroup"):
        nodes = int(group.inputs["numCacheClusters"])
        kind = group.inputs["nodeType"]
        monthly = nodes * _price(prices["elasticache_hour"], kind, "cache node type") * hours
        items.append(LineItem("ElastiCache", f"{nodes} × {kind}", monthly))

    for broker in run.of_type("aws:mq/broker:Broker"):
        nodes = 3 if broker.inputs["deploymentMode"] == "CLUSTER_MULTI_AZ" else 1
        kind = broker.inputs["hostInstanceType"]
        monthly = nodes * (
            _price(prices["mq_rabbitmq_hour"], kind, "broker instance type") * hours
            + usage["broker_storage_gb"] * prices["mq_storage_gb_month"]
        )
        items.append(LineItem("Amazon MQ", f"{nodes} × {kind} (RabbitMQ)", monthly))

    secrets = len(run.of_type("aws:secretsmanager/secret:Secret")) + sum(
        1 for db in run.of_type("aws:rds/instance:Instance") if db.inputs.get("manageMasterUserPassword")
    )
    items.append(LineItem("Secrets Manager", f"{secrets} secrets", secrets * prices["secret_month"]))

    metrics = sum(
        sum(1 for query in alarm.inputs.get("metricQueries") or [] if "metric" in query) or 1
        for alarm in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    )
    dashboards = len(run.of_type("aws:cloudwatch/dashboard:Dashboard"))
    items.append(
        LineItem(
            "CloudWatch",
            f"alarms on {metrics} metrics, {dashboards} dashboard, {usage['log_gb']} GB logs",
            metrics * prices["alarm_metric_month"]
            + dashboards * prices["dashboard_month"]
            + usage["log_gb"] * prices["logs_ingested_gb"],
        )
    )
    items.append(LineItem("ECR", f"{usage['image_gb']} GB of images", usage["image_gb"] * prices["ecr_gb_month"]))
    return items


def total(items: list[LineItem]) -> float:
    return sum(item.monthly_usd for item in items)


def render_table(runs: Mapping[str, offline.StackRun]) -> str:
    """One markdown table: a column per stack, a row per service, the total at the bottom."""
    estimates = {stack: estimate(run) for stack, run in runs.items()}
    services = list(dict.fromkeys(item.service for items in estimates.values() for item in items))
    header = "| Service | " + " | ".join(f"`{stack}`" for stack in estimates) + " |"
    rows = [header, "| --- |" + " ---: |" * len(estimates)]
    for service in services:
        cells = [f"{sum(i.monthly_usd for i in items if i.service == service):,.0f}" for items in estimates.values()]
        rows.append(f"| {service} | " + " | ".join(cells) + " |")
    totals = [f"**{total(items):,.0f}**" for items in estimates.values()]
    rows.append("| **Total (USD/month)** | " + " | ".join(totals) + " |")
    return "\n".join(rows)


def render_details(run: offline.StackRun) -> str:
    lines = [f"{run.stack}:"]
    for item in estimate(run):
        lines.append(f"  {item.service:<16} {item.detail:<58} {item.monthly_usd:>9,.2f}")
    lines.append(f"  {'total':<75} {total(estimate(run)):>9,.2f}")
    return "\n".join(lines)


if __name__ == "__main__":
    for stack in offline.STACKS:
        print(render_details(offline.run(stack)))
