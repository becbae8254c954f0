"""The composition root: stack config -> components -> stack outputs."""
# ruff: noqa: E402

import sys
from pathlib import Path

# Pulumi runs this file with runpy.run_path("infra/"), which puts infra/ itself on sys.path, not
# the repository root; the imports below name the infra package, so the root must be there.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import pulumi
import pulumi_aws as aws

from infra import config as stack_config
from infra.components.access import TransferBucket, TransferBucketArgs
from infra.components.app_identity import AppIdentity, AppIdentityArgs
from infra.components.broker import Broker, BrokerArgs
from infra.components.bundle import BundleBucket, BundleBucketArgs
from infra.components.cache import Cache, CacheArgs
from infra.components.ci_access import CiAccess, CiAccessArgs
from infra.components.database import Database, DatabaseArgs
from infra.components.firewall import Firewall, FirewallArgs, Tier
from infra.components.hosts import HostGroup, HostGroupArgs, debian_image_id
from infra.components.load_balancer import LoadBalancer, LoadBalancerArgs
from infra.components.login_rotation import LoginRotation, LoginRotationArgs
from infra.components.monitoring import Monitoring, MonitoringArgs
from infra.components.network import Network, NetworkArgs
from infra.components.prometheus import ManagedPrometheus, ManagedPrometheusArgs
from infra.components.registry import Registry, RegistryArgs
from infra.components.secrets import Secrets, SecretsArgs
from infra.outputs import StackOutput
from infra.tags import HostRole, host_selector, stack_tags

config = stack_config.load()
tags = stack_tags(config.project, config.stack, config.tier)
prefix = f"shop-{config.stack}"
# What holds the shop's data and images cannot be deleted by an update or a destroy in production
# until someone unprotects it on purpose (`pulumi state unprotect`).
stateful = pulumi.ResourceOptions(protect=config.production)

zones = aws.get_availability_zones(
    state="available",
    # Regular zones only; Local and Wavelength zones lack most of the services below.
    filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
)
network = Network(
    prefix,
    NetworkArgs(config.network, availability_zones=zones.names, region=config.region, tags=tags),
)
firewall = Firewall(f"{prefix}-sg", FirewallArgs(vpc_id=network.vpc_id, tags=tags))
groups = firewall.group_ids

registry = Registry(prefix, RegistryArgs(config.registry, tags=tags), opts=stateful)
secrets = Secrets(
    prefix,
    SecretsArgs(
        config.secrets,
        credentials=config.credentials,
        broker_username=config.broker.username,
        broker_admin_username=config.broker.admin_username,
        database_username=config.database.app_username,
        tags=tags,
    ),
)
database = Database(
    f"{prefix}-db",
    DatabaseArgs(
        config.database,
        subnet_ids=network.private_subnet_ids,
        security_group_id=groups[Tier.DATABASE],
        log_retention_days=config.monitoring.log_retention_days,
        tags=tags,
    ),
    opts=stateful,
)
# The shop's login changes its password every 30 days, in PostgreSQL and in its secret together.
login_rotation = LoginRotation(
    f"{prefix}-db-login",
    LoginRotationArgs(
        secret_arn=secrets.database_login_secret_arn,
        database_host=database.endpoint,
        database_port=database.port,
        database_name=database.database_name,
        subnet_ids=network.private_subnet_ids,
        security_group_id=groups[Tier.LOGIN_ROTATION],
        log_retention_days=config.monitoring.log_retention_days,
        tags=tags,
    ),
)
cache = Cache(
    f"{prefix}-cache",
    CacheArgs(
        config.cache,
        subnet_ids=network.private_subnet_ids,
        security_group_id=groups[Tier.CACHE],
        auth_token=config.credentials.cache_auth_token,
        tags=tags,
    ),
    opts=stateful,
)
broker = Broker(
    f"{prefix}-mq",
    BrokerArgs(
        config.broker,
        subnet_ids=network.private_subnet_ids,
        security_group_id=groups[Tier.BROKER],
        admin_password=config.credentials.broker_password,
        log_retention_days=config.monitoring.log_retention_days,
        region=config.region,
        tags=tags,
    ),
    opts=stateful,
)
load_balancer = LoadBalancer(
    f"{prefix}-lb",
    LoadBalancerArgs(
        config.load_balancer,
        vpc_id=network.vpc_id,
        subnet_ids=network.public_subnet_ids,
        security_group_id=groups[Tier.LOAD_BALANCER],
        tags=tags,
    ),
)

image_id = debian_image_id(config.host_image_id)
# What the shop's containers act as: they read their database login, through the hosts'
# credential endpoint (they are refused the instance's own credentials).
app_identity = AppIdentity(
    f"{prefix}-app",
    AppIdentityArgs(
        account_id=aws.get_caller_identity().account_id,
        secret_arns=[secrets.database_login_secret_arn],
        tags=tags,
    ),
)
# The secrets each role's hosts read when they configure themselves (the shop's environment:
# its keys, Redis, the broker). No host reads the database master secret or the broker's
# administrator (the deploy uses them on the controller) nor the database login (only the shop's
# processes, through app_identity).
host_secrets = [secrets.app_secret_arn, secrets.cache_auth_secret_arn, secrets.broker_secret_arn]
# The playbook bundles a new host configures itself from (the pipeline's bundle step fills it).
bundles = BundleBucket(f"{prefix}-bundles", BundleBucketArgs(tags=tags))
hosts = {
    role: HostGroup(
        f"{prefix}-{role}",
        HostGroupArgs(
            role=role,
            settings=config.web if role is HostRole.WEB else config.worker,
            image_id=image_id,
            subnet_ids=network.private_subnet_ids,
            security_group_id=groups[Tier(str(role))],
            secret_arns=host_secrets,
            repository_arn=registry.repository_arn,
            target_group_arns=[load_balancer.target_group_arn] if role is HostRole.WEB else [],
            app_role_arn=app_identity.role_arn,
            bundle_bucket=bundles.bucket_name,
            request_count_label=pulumi.Output.concat(
                load_balancer.arn_suffix, "/", load_balancer.target_group_arn_suffix
            )
            if role is HostRole.WEB
            else None,
            tags=tags,
        ),
    )
    for role in HostRole
}
transfer = TransferBucket(f"{prefix}-ssm", TransferBucketArgs(tags=tags))
ci_access = CiAccess(
    f"{prefix}-ci", CiAccessArgs.of(config.stack, registry, secrets, database, transfer, bundles, hosts, tags)
)

monitoring = Monitoring(
    prefix,
    MonitoringArgs(
        config.monitoring,
        region=config.region,
        load_balancer=load_balancer.arn_suffix,
        target_group=load_balancer.target_group_arn_suffix,
        database_instance=database.instance_id,
        cache_nodes=cache.node_ids,
        broker=broker.broker_name,
        host_groups={str(role): group.group_name for role, group in hosts.items()},
        tags=tags,
    ),
)
# The same rules and routing as the lab's Prometheus, managed; the hosts' agents write to it.
prometheus = ManagedPrometheus(
    prefix,
    ManagedPrometheusArgs(
        region=config.region,
        account_id=aws.get_caller_identity().account_id,
        topic_arn=monitoring.topic_arn,
        writer_role_names={str(role): group.role_name for role, group in hosts.items()},
        tags=tags,
    ),
)

stack_outputs = {
    StackOutput.REGION: config.region,
    StackOutput.STACK: config.stack,
    StackOutput.SHOP_URL: load_balancer.url,
    StackOutput.LOAD_BALANCER_DNS_NAME: load_balancer.dns_name,
    StackOutput.REGISTRY_URL: registry.repository_url,
    StackOutput.DATABASE_ENDPOINT: database.endpoint,
    StackOutput.DATABASE_INSTANCE_ID: database.instance_id,
    StackOutput.DATABASE_PORT: database.port,
    StackOutput.DATABASE_NAME: database.database_name,
    StackOutput.DATABASE_SECRET_ARN: database.secret_arn,
    StackOutput.DATABASE_LOGIN_SECRET_ARN: secrets.database_login_secret_arn,
    StackOutput.APP_ROLE_ARN: app_identity.role_arn,
    StackOutput.CACHE_ENDPOINT: cache.endpoint,
    StackOutput.CACHE_PORT: cache.port,
    StackOutput.CACHE_AUTH_SECRET_ARN: secrets.cache_auth_secret_arn,
    StackOutput.BROKER_ENDPOINT: broker.endpoint,
    StackOutput.BROKER_SECRET_ARN: secrets.broker_secret_arn,
    StackOutput.BROKER_ADMIN_SECRET_ARN: secrets.broker_admin_secret_arn,
    StackOutput.BROKER_MANAGEMENT_URL: broker.management_url,
    StackOutput.APP_SECRET_ARN: secrets.app_secret_arn,
    StackOutput.WEB_GROUP_NAME: hosts[HostRole.WEB].group_name,
    StackOutput.WORKER_GROUP_NAME: hosts[HostRole.WORKER].group_name,
    StackOutput.HOST_SELECTORS: {str(role): host_selector(config.stack, role) for role in HostRole},
    StackOutput.SSM_TRANSFER_BUCKET: transfer.bucket_name,
    StackOutput.BUNDLE_BUCKET: bundles.bucket_name,
    StackOutput.ALARM_TOPIC_ARN: monitoring.topic_arn,
    StackOutput.PROMETHEUS_REMOTE_WRITE_URL: prometheus.remote_write_url,
    StackOutput.DASHBOARD_NAME: monitoring.dashboard_name,
}
# Plain string keys: the engine serialises outputs by name.
for key, value in stack_outputs.items():
    pulumi.export(key.value, value)
