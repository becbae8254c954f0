"""The stack's configuration, read once from ``Pulumi.<stack>.yaml`` into frozen dataclasses.

Each ``shopstack:<section>`` key in the stack file is an object whose camelCase keys map onto the
snake_case fields below. Fields without a default must be set in every stack file (they are what
differs between dev, staging and prod); fields with a default are shared tuning, commented here.
Unknown keys are an error, so a typo in a stack file fails the preview instead of being ignored.
"""

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, TypeVar, get_type_hints

import pulumi

from infra.tags import Tier

NAMESPACE = "shopstack"


@dataclass(frozen=True)
class NetworkSettings:
    # The VPC's address range; /16 leaves room for a /20 per subnet in up to eight zones.
    cidr: str
    # Availability zones to spread subnets, hosts and data services over (at least two).
    zones: int
    # One NAT gateway per zone keeps egress up when a zone fails; one shared gateway is cheaper.
    nat_per_zone: bool
    # Days CloudWatch keeps the VPC flow logs.
    flow_log_retention_days: int
    # Prefix length of each public and private subnet carved out of ``cidr``.
    subnet_prefix_length: int = 20


@dataclass(frozen=True)
class HostGroupSettings:
    # EC2 instance type of every host in the group.
    instance_type: str
    # Auto Scaling bounds. Desired is the capacity a new group starts with; afterwards the
    # target-tracking policies below move it between min and max (the program leaves it alone).
    min_size: int
    max_size: int
    desired_capacity: int
    # Average CPU percentage of the group the scaling policy keeps it at.
    target_cpu_percent: float = 60.0
    # Web hosts: load balancer requests per host per minute the scaling policy keeps them at.
    target_requests_per_host: float = 1000.0
    # Seconds a new host has to configure itself before the group gives up on it and replaces it.
    configure_timeout_seconds: int = 1800
    # Root volume size (gp3, encrypted).
    volume_size_gb: int = 20
    # One-minute EC2 metrics instead of five (about $2 a host a month).
    detailed_monitoring: bool = False


@dataclass(frozen=True)
class LoadBalancerSettings:
    # Seconds a web host keeps serving in-flight requests after it leaves the target group; long
    # enough for the shop's slowest request, short enough that a rolling deploy keeps moving.
    deregistration_delay_seconds: int
    # Refuse to delete the load balancer until this is switched off.
    deletion_protection: bool
    # Host name shoppers use. With one, the program requests an ACM certificate for it, serves
    # HTTPS on 443 and redirects 80 there; without one (dev), port 80 serves the shop. Required
    # in production.
    domain_name: str | None = None
    # Route 53 hosted zone of ``domain_name``: the program writes the certificate's DNS validation
    # record and an alias to the load balancer there. Without it, create both by hand (see README).
    hosted_zone_id: str | None = None
    # TLS 1.3 and 1.2 only, forward-secret ciphers.
    ssl_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    # Seconds an idle client connection stays open.
    idle_timeout_seconds: int = 60
    # The readiness endpoint nginx proxies to the app; a host is healthy once the app can serve.
    health_check_path: str = "/readyz"
    health_check_interval_seconds: int = 15
    healthy_threshold: int = 2
    unhealthy_threshold: int = 3


@dataclass(frozen=True)
class DatabaseSettings:
    # RDS instance class; Graviton (t4g/m7g) classes are cheaper for the same work.
    instance_class: str
    # Initial storage and the ceiling storage autoscaling may grow to.
    allocated_storage_gb: int
    max_allocated_storage_gb: int
    # A synchronous standby in a second zone, promoted automatically on failure.
    multi_az: bool
    # Days of automated backups (point-in-time recovery window); 0 disables backups.
    backup_retention_days: int
    # Refuse to delete the database until this is switched off.
    deletion_protection: bool
    # Take a final snapshot when the database is deleted.
    final_snapshot: bool
    # Apply modifications now rather than in the maintenance window.
    apply_immediately: bool
    # Major version; RDS picks the newest minor and upgrades it in the maintenance window.
    engine_version: str = "16"
    # Parameter group family matching ``engine_version``.
    parameter_family: str = "postgres16"
    database_name: str = "shop"
    master_username: str = "shop"
    # The role the shop logs in as: owner of the shop's schema, no superuser. The deploy creates it
    # (with the master login) and sets the password its secret holds; the shop reads that secret
    # when it opens a connection, so the password can rotate.
    app_username: str = "shop_app"
    # Performance Insights (7 days of history is free).
    performance_insights: bool = False
    # Log statements slower than this, in milliseconds.
    slow_statement_ms: int = 500
    backup_window: str = "02:00-03:00"
    maintenance_window: str = "sun:03:30-sun:04:30"


@dataclass(frozen=True)
class CacheSettings:
    # ElastiCache node type.
    node_type: str
    # Nodes in the replication group: one primary plus read replicas in other zones.
    nodes: int
    # Promote a replica when the primary fails; needs at least two nodes.
    automatic_failover: bool
    # Days of daily snapshots; 0 disables them.
    snapshot_retention_days: int
    apply_immediately: bool
    engine_version: str = "7.1"
    parameter_group_name: str = "default.redis7"
    snapshot_window: str = "01:00-02:00"
    maintenance_window: str = "sun:04:30-sun:05:30"


@dataclass(frozen=True)
class BrokerSettings:
    # Amazon MQ host type; mq.t3.micro runs single-instance brokers only.
    instance_type: str
    # Three nodes across zones behind one endpoint, instead of a single instance.
    clustered: bool
    engine_version: str = "3.13"
    # The broker's administrator, created with the broker (its password is ``brokerPassword``). Only
    # the deploy uses it, to manage the shop's user through the management API; a later change to
    # it is ignored, since Amazon MQ would replace the whole broker for one.
    admin_username: str = "shopstack-admin"
    # The user the shop's producers and workers connect as: no management rights, permissions on the
    # shop's vhost only. The deploy creates it; its password is made up by the stack and rotated.
    username: str = "shop"
    maintenance_day: str = "SUNDAY"
    maintenance_time: str = "05:30"


@dataclass(frozen=True)
class RegistrySettings:
    # Tagged images kept; older ones expire (a rollback needs the previous few).
    keep_images: int
    # Days before an untagged image (a superseded build layer) expires.
    untagged_expiry_days: int
    # Let ``pulumi destroy`` delete the repository with images still in it.
    force_delete: bool


@dataclass(frozen=True)
class SecretSettings:
    # Days a deleted secret can be restored; 0 deletes at once so dev can be rebuilt by name.
    recovery_window_days: int


@dataclass(frozen=True)
class AlarmThresholds:
    # Percentage of requests answered 5xx (load balancer and hosts together) over five minutes.
    http_5xx_percent: float = 5.0
    # p99 seconds from the load balancer to the hosts and back.
    p99_latency_seconds: float = 1.5
    # Average CPU percentage of the database over fifteen minutes.
    database_cpu_percent: float = 80.0
    # Free database storage in GiB below which someone should grow it or clean up.
    database_free_storage_gib: float = 2.0
    # Open database connections; the app's pools sum to well below this.
    database_connections: float = 80.0
    # Percentage of Redis memory in use.
    cache_memory_percent: float = 80.0
    # Keys evicted in five minutes; any eviction means carts or sessions may be lost.
    cache_evictions: float = 0.0
    # Messages ready and waiting in the broker; the workers are falling behind.
    queue_depth: float = 1000.0


@dataclass(frozen=True)
class MonitoringSettings:
    # Days CloudWatch keeps the hosts' and services' logs.
    log_retention_days: int
    # Addresses subscribed to the alarm topic (each confirms the email AWS sends). Production
    # needs at least one subscriber, here or in ``alarm_https_endpoints``.
    alarm_emails: tuple[str, ...] = ()
    # HTTPS endpoints (a paging service's SNS integration URL) subscribed to the alarm topic.
    alarm_https_endpoints: tuple[str, ...] = ()
    alarms: AlarmThresholds = field(default_factory=AlarmThresholds)


@dataclass(frozen=True)
class Credentials:
    """Secrets set with ``pulumi config set --secret``; they stay encrypted in state."""

    cache_auth_token: pulumi.Output[str]
    broker_password: pulumi.Output[str]
    app_secret_key: pulumi.Output[str]
    payment_webhook_secret: pulumi.Output[str]


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    # What the stack is for; ``production`` holds it to the policy pack's production rules.
    tier: Tier
    region: str
    network: NetworkSettings
    web: HostGroupSettings
    worker: HostGroupSettings
    load_balancer: LoadBalancerSettings
    database: DatabaseSettings
    cache: CacheSettings
    broker: BrokerSettings
    registry: RegistrySettings
    secrets: SecretSettings
    monitoring: MonitoringSettings
    credentials: Credentials
    # A pinned host image; unset means the newest official Debian 12 image at preview time.
    host_image_id: str | None = None

    @property
    def production(self) -> bool:
        return self.tier is Tier.PRODUCTION


_Settings = TypeVar("_Settings")


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def parse_section(section: str, raw: dict[str, Any], cls: type[_Settings]) -> _Settings:
    """Build ``cls`` from a stack file object, refusing keys the dataclass does not know."""
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = _snake(key)
        if name not in known:
            raise ValueError(f"{NAMESPACE}:{section}: unknown setting {key!r}")
        nested = hints[name]
        if dataclasses.is_dataclass(nested) and isinstance(value, dict):
            value = parse_section(f"{section}.{key}", value, nested)  # type: ignore[arg-type]
        if isinstance(value, list):
            value = tuple(value)
        values[name] = value
    try:
        return cls(**values)
    except TypeError as error:
        raise ValueError(f"{NAMESPACE}:{section}: {error}") from error


def _validate(config: StackConfig) -> None:
    if config.network.zones < 2:
        raise ValueError(f"{NAMESPACE}:network.zones must be at least 2 (the ALB needs two)")
    for role, hosts in (("web", config.web), ("worker", config.worker)):
        if not hosts.min_size <= hosts.desired_capacity <= hosts.max_size:
            raise ValueError(f"{NAMESPACE}:{role}: need minSize <= desiredCapacity <= maxSize")
    if config.cache.automatic_failover and config.cache.nodes < 2:
        raise ValueError(f"{NAMESPACE}:cache.automaticFailover needs at least 2 nodes")
    if config.database.max_allocated_storage_gb < config.database.allocated_storage_gb:
        raise ValueError(f"{NAMESPACE}:database.maxAllocatedStorageGb is below allocatedStorageGb")
    if config.production and not config.load_balancer.domain_name:
        raise ValueError(f"{NAMESPACE}:loadBalancer.domainName is required in production (HTTPS)")
    if config.production and not (config.monitoring.alarm_emails or config.monitoring.alarm_https_endpoints):
        raise ValueError(f"{NAMESPACE}:monitoring.alarmEmails or alarmHttpsEndpoints must name on-call in production")
    if config.production and not config.database.final_snapshot:
        raise ValueError(f"{NAMESPACE}:database.finalSnapshot must be true in production")


def load() -> StackConfig:
    """Read the current stack's configuration; called once, by ``infra/__main__.py``."""
    shop = pulumi.Config(NAMESPACE)
    aws = pulumi.Config("aws")

    def section(key: str, cls: type[_Settings]) -> _Settings:
        return parse_section(key, shop.require_object(key), cls)

    config = StackConfig(
        project=pulumi.get_project(),
        stack=pulumi.get_stack(),
        tier=Tier(shop.require("tier")),
        region=aws.require("region"),
        network=section("network", NetworkSettings),
        web=section("web", HostGroupSettings),
        worker=section("worker", HostGroupSettings),
        load_balancer=section("loadBalancer", LoadBalancerSettings),
        database=section("database", DatabaseSettings),
        cache=section("cache", CacheSettings),
        broker=section("broker", BrokerSettings),
        registry=section("registry", RegistrySettings),
        secrets=section("secrets", SecretSettings),
        monitoring=section("monitoring", MonitoringSettings),
        credentials=Credentials(
            cache_auth_token=shop.require_secret("cacheAuthToken"),
            broker_password=shop.require_secret("brokerPassword"),
            app_secret_key=shop.require_secret("appSecretKey"),
            payment_webhook_secret=shop.require_secret("paymentWebhookSecret"),
        ),
        host_image_id=shop.get("hostImageId"),
    )
    _validate(config)
    return config
