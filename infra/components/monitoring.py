"""CloudWatch alarms on everything the shop depends on, one SNS topic for them, one dashboard."""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.config import MonitoringSettings
from infra.tags import resource_tags

GIB = 1024**3
# Five-minute periods, three in a row: long enough to ride out a deploy, short enough to page.
PERIOD = 300
EVALUATION_PERIODS = 3


@dataclass
class MonitoringArgs:
    settings: MonitoringSettings
    region: str
    # CloudWatch dimensions of the things watched.
    load_balancer: pulumi.Input[str]
    target_group: pulumi.Input[str]
    database_instance: pulumi.Input[str]
    cache_nodes: Sequence[pulumi.Input[str]]
    broker: pulumi.Input[str]
    host_groups: Mapping[str, pulumi.Input[str]]
    tags: Mapping[str, str]


class Monitoring(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]
    dashboard_name: pulumi.Output[str]
    alarm_names: list[pulumi.Output[str]]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shopstack:monitoring:Monitoring", name, None, opts)
        self._name = name
        self._args = args
        thresholds = args.settings.alarms
        child = pulumi.ResourceOptions(parent=self)

        topic = aws.sns.Topic(f"{name}-alarms", tags=resource_tags(args.tags, f"{name}-alarms"), opts=child)
        subscribers = [("email", address) for address in args.settings.alarm_emails] + [
            ("https", url) for url in args.settings.alarm_https_endpoints
        ]
        for number, (protocol, endpoint) in enumerate(subscribers):
            aws.sns.TopicSubscription(
                # Named by the endpoint, so adding or removing one leaves the others untouched.
                f"{name}-alarms-{protocol}-{hashlib.sha256(endpoint.encode()).hexdigest()[:8]}",
                topic=topic.arn,
                protocol=protocol,
                endpoint=endpoint,
                # An HTTPS endpoint confirms by itself (a paging service does); email waits for a click.
                endpoint_auto_confirms=protocol == "https",
                # The one address the former ``alarmEmail`` setting subscribed keeps its subscription.
                opts=pulumi.ResourceOptions(
                    parent=self,
                    aliases=[pulumi.Alias(name=f"{name}-alarms-email")]
                    if number == 0 and protocol == "email"
                    else None,
                ),
            )
        self._topic = topic
        self.alarm_names = []

        lb = {"LoadBalancer": args.load_balancer}
        self._alarm(
            "http-5xx",
            f"More than {thresholds.http_5xx_percent}% of requests answered 5xx",
            threshold=thresholds.http_5xx_percent,
            comparison_operator="GreaterThanThreshold",
            metric_queries=[
                _query("lb", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", lb, "Sum"),
                _query("hosts", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", lb, "Sum"),
                _query("requests", "AWS/ApplicationELB", "RequestCount", lb, "Sum"),
                {
                    "id": "rate",
                    "expression": "100 * (FILL(lb, 0) + FILL(hosts, 0)) / requests",
                    "label": "5xx %",
                    "return_data": True,
                },
            ],
        )
        self._alarm(
            "latency-p99",
            f"p99 response time above {thresholds.p99_latency_seconds}s",
            namespace="AWS/ApplicationELB",
            metric_name="TargetResponseTime",
            dimensions=lb,
            extended_statistic="p99",
            threshold=thresholds.p99_latency_seconds,
            comparison_operator="GreaterThanThreshold",
        )
        self._alarm(
            "no-healthy-web-host",
            "No web host passes the /readyz health check",
            namespace="AWS/ApplicationELB",
            metric_name="HealthyHostCount",
            dimensions={**lb, "TargetGroup": args.target_group},
            statistic="Minimum",
            threshold=1,
            comparison_operator="LessThanThreshold",
            treat_missing_data="breaching",
        )

        database = {"DBInstanceIdentifier": args.database_instance}
        self._alarm(
            "database-cpu",
            f"Database CPU above {thresholds.database_cpu_percent}%",
            namespace="AWS/RDS",
            metric_name="CPUUtilization",
            dimensions=database,
            statistic="Average",
            threshold=thresholds.database_cpu_percent,
            comparison_operator="GreaterThanThreshold",
        )
        self._alarm(
            "database-storage",
            f"Less than {thresholds.database_free_storage_gib} GiB of database storage free",
            namespace="AWS/RDS",
            metric_name="FreeStorageSpace",
            dimensions=database,
            statistic="Minimum",
            threshold=thresholds.database_free_storage_gib * GIB,
            comparison_operator="LessThanThreshold",
        )
        self._alarm(
            "database-connections",
            f"More than {thresholds.database_connections:g} database connections",
            namespace="AWS/RDS",
            metric_name="DatabaseConnections",
            dimensions=database,
            statistic="Maximum",
            threshold=thresholds.database_connections,
            comparison_operator="GreaterThanThreshold",
        )

        for number, node in enumerate(args.cache_nodes, start=1):
            cache = {"CacheClusterId": node}
            self._alarm(
                f"cache-{number}-memory",
                f"Redis node {number} uses more than {thresholds.cache_memory_percent}% of memory",
                namespace="AWS/ElastiCache",
                metric_name="DatabaseMemoryUsagePercentage",
                dimensions=cache,
                statistic="Maximum",
                threshold=thresholds.cache_memory_percent,
                comparison_operator="GreaterThanThreshold",
            )
            self._alarm(
                f"cache-{number}-evictions",
                f"Redis node {number} is evicting keys",
                namespace="AWS/ElastiCache",
                metric_name="Evictions",
                dimensions=cache,
                statistic="Sum",
                threshold=thresholds.cache_evictions,
                comparison_operator="GreaterThanThreshold",
                evaluation_periods=1,
            )

        self._alarm(
            "queue-depth",
            f"More than {thresholds.queue_depth:g} jobs waiting: the workers are falling behind",
            namespace="AWS/AmazonMQ",
            metric_name="MessageReadyCount",
            dimensions={"Broker": args.broker},
            statistic="Maximum",
            threshold=thresholds.queue_depth,
            comparison_operator="GreaterThanThreshold",
        )

        for role, group in args.host_groups.items():
            self._alarm(
                f"{role}-status-check",
                f"A {role} host fails its EC2 status checks",
                namespace="AWS/EC2",
                metric_name="StatusCheckFailed",
                dimensions={"AutoScalingGroupName": group},
                statistic="Maximum",
                threshold=0,
                comparison_operator="GreaterThanThreshold",
                evaluation_periods=2,
            )

        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=name,
            dashboard_body=pulumi.Output.json_dumps(self._dashboard_body()),
            opts=child,
        )
        self.topic_arn = topic.arn
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs(
            {
                "topic_arn": self.topic_arn,
                "dashboard_name": self.dashboard_name,
                "alarm_names": self.alarm_names,
            }
        )

    def _alarm(self, suffix: str, description: str, **settings: Any) -> None:
        alarm_name = f"{self._name}-{suffix}"
        settings.setdefault("evaluation_periods", EVALUATION_PERIODS)
        settings.setdefault("treat_missing_data", "notBreaching")
        if "metric_queries" not in settings:
            settings.setdefault("period", PERIOD)
        alarm = aws.cloudwatch.MetricAlarm(
            alarm_name,
            name=alarm_name,
            alarm_description=description,
            alarm_actions=[self._topic.arn],
            ok_actions=[self._topic.arn],
            tags=resource_tags(self._args.tags, alarm_name),
            opts=pulumi.ResourceOptions(parent=self),
            **settings,
        )
        self.alarm_names.append(alarm.name)

    def _dashboard_body(self) -> dict[str, Any]:
        args = self._args
        lb = ["LoadBalancer", args.load_balancer]
        database = ["DBInstanceIdentifier", args.database_instance]

        def graph(title: str, metrics: list[list[Any]], x: int, y: int) -> dict[str, Any]:
            return {
                "type": "metric",
                "x": x,
                "y": y,
                "width": 8,
                "height": 6,
                "properties": {
                    "title": title,
                    "region": args.region,
                    "metrics": metrics,
                    "period": 60,
                    "stat": "Sum",
                    "view": "timeSeries",
                },
            }

        return {
            "widgets": [
                graph(
                    "Requests and errors",
                    [
                        ["AWS/ApplicationELB", "RequestCount", *lb],
                        ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", *lb],
                        ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", *lb],
                    ],
                    0,
                    0,
                ),
                graph(
                    "Response time p99 (s)",
                    [["AWS/ApplicationELB", "TargetResponseTime", *lb, {"stat": "p99"}]],
                    8,
                    0,
                ),
                graph(
                    "Host CPU %",
                    [
                        [
                            "AWS/EC2",
                            "CPUUtilization",
                            "AutoScalingGroupName",
                            group,
                            {"stat": "Average", "label": role},
                        ]
                        for role, group in args.host_groups.items()
                    ],
                    16,
                    0,
                ),
                graph(
                    "Database",
                    [
                        ["AWS/RDS", "CPUUtilization", *database, {"stat": "Average"}],
                        ["AWS/RDS", "DatabaseConnections", *database, {"stat": "Maximum"}],
                    ],
                    0,
                    6,
                ),
                graph(
                    "Redis memory %",
                    [
                        [
                            "AWS/ElastiCache",
                            "DatabaseMemoryUsagePercentage",
                            "CacheClusterId",
                            node,
                            {"stat": "Maximum"},
                        ]
                        for node in args.cache_nodes
                    ],
                    8,
                    6,
                ),
                graph(
                    "Jobs waiting",
                    [
                        [
                            "AWS/AmazonMQ",
                            "MessageReadyCount",
                            "Broker",
                            args.broker,
                            {"stat": "Maximum"},
                        ]
                    ],
                    16,
                    6,
                ),
            ]
        }


def _query(query_id: str, namespace: str, metric: str, dimensions: Mapping[str, Any], stat: str) -> dict[str, Any]:
    return {
        "id": query_id,
        "metric": {
            "namespace": namespace,
            "metric_name": metric,
            "dimensions": dimensions,
            "period": PERIOD,
            "stat": stat,
        },
    }
