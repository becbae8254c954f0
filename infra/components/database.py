"""The shop's PostgreSQL: RDS in the private subnets, encrypted, its password kept by RDS.

The instance identifier is chosen here, unique per incarnation (a random suffix), because three
things are named from it before or after the instance exists: the log groups RDS exports to
(``/aws/rds/instance/<identifier>/<log>``, created first so they carry a retention), and the final
snapshot a delete leaves, which must not collide with the one a previous incarnation left.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from infra.config import DatabaseSettings
from infra.tags import resource_tags


@dataclass
class DatabaseArgs:
    settings: DatabaseSettings
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    # Days CloudWatch keeps the logs the instance exports.
    log_retention_days: int
    tags: Mapping[str, str]


# The PostgreSQL logs RDS exports to CloudWatch, one log group each.
EXPORTED_LOGS = ("postgresql", "upgrade")


class Database(pulumi.ComponentResource):
    endpoint: pulumi.Output[str]
    port: pulumi.Output[int]
    database_name: str
    secret_arn: pulumi.Output[str]
    instance_id: pulumi.Output[str]
    log_group_names: list[pulumi.Output[str]]

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shopstack:database:Database", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=args.subnet_ids,
            tags=resource_tags(args.tags, f"{name}-subnets"),
            opts=child,
        )
        parameters = aws.rds.ParameterGroup(
            f"{name}-params",
            family=settings.parameter_family,
            parameters=[
                # Refuse unencrypted connections.
                {"name": "rds.force_ssl", "value": "1"},
                {"name": "log_min_duration_statement", "value": str(settings.slow_statement_ms)},
                {"name": "log_lock_waits", "value": "1"},
                # Storage is SSD: random reads cost about what sequential ones do, so the planner
                # uses the product search's GIN index instead of scanning (16 ms, not 58, at 100k).
                {"name": "random_page_cost", "value": "1.1"},
            ],
            tags=resource_tags(args.tags, f"{name}-params"),
            opts=child,
        )
        suffix = random.RandomId(f"{name}-suffix", byte_length=4, opts=child)
        identifier = pulumi.Output.concat(name, "-", suffix.hex)
        log_groups = [
            aws.cloudwatch.LogGroup(
                f"{name}-{log}-logs",
                name=pulumi.Output.concat("/aws/rds/instance/", identifier, "/", log),
                retention_in_days=args.log_retention_days,
                tags=resource_tags(args.tags, f"{name}-{log}-logs"),
                opts=child,
            )
            for log in EXPORTED_LOGS
        ]
        instance = aws.rds.Instance(
            f"{name}-postgres",
            identifier=identifier,
            engine="postgres",
            engine_version=settings.engine_version,
            instance_class=settings.instance_class,
            db_name=settings.database_name,
            username=settings.master_username,
            # RDS generates the password, stores it in Secrets Manager and rotates it.
            manage_master_user_password=True,
            allocated_storage=settings.allocated_storage_gb,
            max_allocated_storage=settings.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[args.security_group_id],
            parameter_group_name=parameters.name,
            publicly_accessible=False,
            multi_az=settings.multi_az,
            backup_retention_period=settings.backup_retention_days,
            backup_window=settings.backup_window,
            maintenance_window=settings.maintenance_window,
            copy_tags_to_snapshot=True,
            deletion_protection=settings.deletion_protection,
            skip_final_snapshot=not settings.final_snapshot,
            final_snapshot_identifier=pulumi.Output.concat(identifier, "-final") if settings.final_snapshot else None,
            auto_minor_version_upgrade=True,
            apply_immediately=settings.apply_immediately,
            performance_insights_enabled=settings.performance_insights,
            enabled_cloudwatch_logs_exports=list(EXPORTED_LOGS),
            tags=resource_tags(args.tags, f"{name}-postgres"),
            # The groups exist, with their retention, before RDS first writes to them.
            opts=pulumi.ResourceOptions(parent=self, depends_on=log_groups),
        )
        self.endpoint = instance.address
        self.port = instance.port
        self.database_name = settings.database_name
        self.secret_arn = instance.master_user_secrets.apply(lambda secrets: secrets[0].secret_arn)
        self.instance_id = instance.identifier
        self.log_group_names = [group.name for group in log_groups]
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "port": self.port,
                "secret_arn": self.secret_arn,
                "instance_id": self.instance_id,
            }
        )
