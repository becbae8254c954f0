"""Redis for sessions, the page cache and task results: ElastiCache with TLS and an AUTH token."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import CacheSettings
from infra.tags import resource_tags


@dataclass
class CacheArgs:
    settings: CacheSettings
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    # The AUTH token clients present; the same value the Secrets component stores.
    auth_token: pulumi.Input[str]
    tags: Mapping[str, str]


class Cache(pulumi.ComponentResource):
    endpoint: pulumi.Output[str]
    port: pulumi.Output[int]
    # ElastiCache names each node ``<group id>-00<n>``; CloudWatch reports memory per node.
    node_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shopstack:cache:Cache", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        subnets = aws.elasticache.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=args.subnet_ids,
            tags=resource_tags(args.tags, f"{name}-subnets"),
            opts=child,
        )
        group = aws.elasticache.ReplicationGroup(
            f"{name}-redis",
            description=f"shopstack {name} sessions, cache and task results",
            engine="redis",
            engine_version=settings.engine_version,
            node_type=settings.node_type,
            num_cache_clusters=settings.nodes,
            parameter_group_name=settings.parameter_group_name,
            port=6379,
            subnet_group_name=subnets.name,
            security_group_ids=[args.security_group_id],
            at_rest_encryption_enabled=True,
            transit_encryption_enabled=True,
            # TLS only; "preferred" would still accept plaintext clients.
            transit_encryption_mode="required",
            auth_token=args.auth_token,
            automatic_failover_enabled=settings.automatic_failover,
            multi_az_enabled=settings.automatic_failover,
            snapshot_retention_limit=settings.snapshot_retention_days,
            snapshot_window=settings.snapshot_window,
            maintenance_window=settings.maintenance_window,
            auto_minor_version_upgrade=True,
            apply_immediately=settings.apply_immediately,
            tags=resource_tags(args.tags, f"{name}-redis"),
            opts=child,
        )
        self.endpoint = group.primary_endpoint_address
        self.port = group.port
        self.node_ids = [
            group.id.apply(lambda group_id, n=n: f"{group_id}-{n:03d}") for n in range(1, settings.nodes + 1)
        ]
        self.register_outputs({"endpoint": self.endpoint, "port": self.port})
