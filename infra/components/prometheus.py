"""Amazon Managed Service for Prometheus: the workspace the hosts' Prometheus agents remote-write to,
the committed alerting and recording rules, and the Alertmanager routing to the alarm topic.

Nothing is pasted from ``monitoring/``: the rule files are read when the program runs (one rule
groups namespace per file) and the Alertmanager routing is ``monitoring/alertmanager/alertmanager.yml``
with its receivers given SNS integrations (AMP's only one) signed with SigV4. The lab's Prometheus
loads the same files.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import yaml

from infra.tags import resource_tags

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
RULES = MONITORING / "rules"
ALERTMANAGER = MONITORING / "alertmanager" / "alertmanager.yml"
# The receivers that notify someone; the others (blackhole) stay without an integration.
NOTIFYING_RECEIVERS = ("page", "ticket")


@dataclass
class ManagedPrometheusArgs:
    region: str
    account_id: str
    # The SNS topic the alarms notify; Alertmanager's page and ticket receivers publish there.
    topic_arn: pulumi.Input[str]
    # The IAM roles of the hosts whose Prometheus agents remote-write here (and nothing else may).
    writer_role_names: Mapping[str, pulumi.Input[str]]
    tags: Mapping[str, str]


def rule_namespaces() -> dict[str, str]:
    """Each committed rule file by name, as it is on disk."""
    return {path.stem: path.read_text() for path in sorted(RULES.glob("*.yml"))}


def alertmanager_definition(topic_arn: str, region: str) -> str:
    """The committed routing in AMP's format, its notifying receivers publishing to ``topic_arn``."""
    config: dict[str, Any] = yaml.safe_load(ALERTMANAGER.read_text())
    for receiver in config["receivers"]:
        if receiver["name"] in NOTIFYING_RECEIVERS:
            receiver["sns_configs"] = [{
                "topic_arn": topic_arn,
                "sigv4": {"region": region},
                "subject": "{{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})",
                "attributes": {"receiver": receiver["name"]},
            }]
    return yaml.safe_dump({"alertmanager_config": yaml.safe_dump(config, sort_keys=False)}, sort_keys=False)


def topic_policy(topic_arn: str, workspace_arn: str, account_id: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {
                # What SNS allows by default: the account's own services (CloudWatch alarms).
                "Sid": "TheAccountPublishes",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["sns:Publish", "sns:GetTopicAttributes"],
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"AWS:SourceOwner": account_id}},
            },
            {
                "Sid": "ManagedPrometheusPublishes",
                "Effect": "Allow",
                "Principal": {"Service": "aps.amazonaws.com"},
                "Action": ["sns:Publish", "sns:GetTopicAttributes"],
                "Resource": topic_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": workspace_arn},
                              "StringEquals": {"aws:SourceAccount": account_id}},
            },
        ],
    })


def remote_write_policy(workspace_arn: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "RemoteWriteMetrics", "Effect": "Allow", "Action": "aps:RemoteWrite",
                       "Resource": workspace_arn}],
    })


class ManagedPrometheus(pulumi.ComponentResource):
    workspace_arn: pulumi.Output[str]
    remote_write_url: pulumi.Output[str]

    def __init__(self, name: str, args: ManagedPrometheusArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shopstack:monitoring:ManagedPrometheus", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        workspace = aws.amp.Workspace(
            f"{name}-prometheus", alias=name, tags=resource_tags(args.tags, f"{name}-prometheus"), opts=child
        )
        for namespace, data in rule_namespaces().items():
            aws.amp.RuleGroupNamespace(
                f"{name}-rules-{namespace}",
                name=namespace,
                workspace_id=workspace.id,
                data=data,
                tags=resource_tags(args.tags, f"{name}-rules-{namespace}"),
                opts=child,
            )
        aws.amp.AlertManagerDefinition(
            f"{name}-alertmanager",
            workspace_id=workspace.id,
            definition=pulumi.Output.from_input(args.topic_arn).apply(
                lambda arn: alertmanager_definition(arn, args.region)
            ),
            opts=child,
        )
        aws.sns.TopicPolicy(
            f"{name}-alarms-publishers",
            arn=args.topic_arn,
            policy=pulumi.Output.all(args.topic_arn, workspace.arn).apply(
                lambda values: topic_policy(values[0], values[1], args.account_id)
            ),
            opts=child,
        )
        for role, role_name in args.writer_role_names.items():
            aws.iam.RolePolicy(
                f"{name}-{role}-remote-write",
                role=role_name,
                policy=workspace.arn.apply(remote_write_policy),
                opts=child,
            )
        self.workspace_arn = workspace.arn
        self.remote_write_url = pulumi.Output.concat(workspace.prometheus_endpoint, "api/v1/remote_write")
        self.register_outputs({"workspace_arn": self.workspace_arn, "remote_write_url": self.remote_write_url})
