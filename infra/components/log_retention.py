"""A retention period on a log group an AWS service creates itself.

Amazon MQ names a broker's log group by the broker's id (``/aws/amazonmq/broker/<id>/general``)
and creates it, through its service-linked role, while the broker boots: before Pulumi learns the
id, so an ``aws.cloudwatch.LogGroup`` of that name would fail with "already exists", and without
one the group keeps every line forever. This resource takes the group as it finds it (creating it
if the service has not yet) and sets its retention and tags; deleting it leaves the group to its
retention, as AWS leaves it when the broker goes.

pulumi-aws has no resource for "retention of an existing group", hence this small dynamic
provider; it calls CloudWatch Logs with boto3 and the same credentials as the provider.
"""

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult


def _client(region: str) -> Any:
    import boto3  # imported where it runs: the engine calls the provider in its own process

    return boto3.client("logs", region_name=region)


def apply_retention(logs: Any, props: Mapping[str, Any]) -> None:
    """Create the group if it does not exist yet, then set its retention and tags."""
    name = props["log_group_name"]
    try:
        logs.create_log_group(logGroupName=name, tags=dict(props["tags"]))
    except logs.exceptions.ResourceAlreadyExistsException:
        # The service was first, as expected: adopt its group.
        arn = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["arn"].removesuffix(":*")
        logs.tag_resource(resourceArn=arn, tags=dict(props["tags"]))
    logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["retention_in_days"]))


class _LogRetentionProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        apply_retention(_client(props["region"]), props)
        return CreateResult(id_=props["log_group_name"], outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [
            key for key in ("log_group_name", "region", "retention_in_days", "tags") if olds.get(key) != news.get(key)
        ]
        replaces = [key for key in changed if key in ("log_group_name", "region")]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        apply_retention(_client(news["region"]), news)
        return UpdateResult(outs=news)


class LogRetention(Resource):
    """Retention (and tags) for the log group ``log_group_name``, which a service may create first."""

    log_group_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        log_group_name: pulumi.Input[str],
        retention_in_days: int,
        region: str,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(
            _LogRetentionProvider(),
            name,
            {
                "log_group_name": log_group_name,
                "retention_in_days": retention_in_days,
                "region": region,
                "tags": dict(tags),
            },
            opts,
        )
