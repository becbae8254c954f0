"""The job queue: Amazon MQ for RabbitMQ, the same protocol the lab and the workers speak."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.log_retention import LogRetention
from infra.config import BrokerSettings
from infra.tags import resource_tags


@dataclass
class BrokerArgs:
    settings: BrokerSettings
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    # The administrator's password; the same value the Secrets component stores.
    admin_password: pulumi.Input[str]
    log_retention_days: int
    # Region of the broker and its log group.
    region: str
    tags: Mapping[str, str]


class Broker(pulumi.ComponentResource):
    endpoint: pulumi.Output[str]
    management_url: pulumi.Output[str]
    broker_name: pulumi.Output[str]
    log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: BrokerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shopstack:queue:Broker", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        # A single-instance broker lives in one subnet; a cluster spreads over all of them.
        subnets = list(args.subnet_ids) if settings.clustered else list(args.subnet_ids)[:1]
        # No broker_name: Pulumi names it uniquely, so a replacement or a rebuilt stack never
        # collides with a broker of the same name still being deleted.
        broker = aws.mq.Broker(
            f"{name}-rabbitmq",
            engine_type="RabbitMQ",
            engine_version=settings.engine_version,
            host_instance_type=settings.instance_type,
            deployment_mode="CLUSTER_MULTI_AZ" if settings.clustered else "SINGLE_INSTANCE",
            subnet_ids=subnets,
            security_groups=[args.security_group_id],
            publicly_accessible=False,
            # RabbitMQ brokers are always encrypted at rest, with an AWS-owned key.
            encryption_options={"use_aws_owned_key": True},
            auto_minor_version_upgrade=True,
            maintenance_window_start_time={
                "day_of_week": settings.maintenance_day,
                "time_of_day": settings.maintenance_time,
                "time_zone": "UTC",
            },
            logs={"general": True},
            # Amazon MQ for RabbitMQ takes one user at creation, the administrator; the shop's own
            # user is made through the management API by the deploy (playbooks/roles/broker_user).
            users=[{"username": settings.admin_username, "password": args.admin_password, "console_access": True}],
            tags=resource_tags(args.tags, f"{name}-rabbitmq"),
            # The provider replaces a RabbitMQ broker (its queues and messages with it) for any change
            # to ``users``, a password included: the administrator's password is changed through the
            # management API, never here.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["users"]),
        )
        # Amazon MQ writes the general log to a group named by the broker's id, which it creates
        # itself while the broker boots; this gives that group a retention instead of forever.
        logs = LogRetention(
            f"{name}-logs",
            log_group_name=pulumi.Output.concat("/aws/amazonmq/broker/", broker.id, "/general"),
            retention_in_days=args.log_retention_days,
            region=args.region,
            tags=resource_tags(args.tags, f"{name}-logs"),
            opts=child,
        )
        self.log_group_name = logs.log_group_name
        self.endpoint = broker.instances.apply(lambda instances: instances[0].endpoints[0])
        # The web console's address, which also serves RabbitMQ's management HTTP API.
        self.management_url = broker.instances.apply(lambda instances: instances[0].console_url or "")
        self.broker_name = broker.broker_name
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "management_url": self.management_url,
                "broker_name": self.broker_name,
                "log_group_name": self.log_group_name,
            }
        )
