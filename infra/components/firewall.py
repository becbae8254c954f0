"""Security groups, chained: who may talk to whom, on which port, in one table.

Only the load balancer accepts traffic from the internet. Each data service accepts its port from
the web and worker hosts and nothing else (PostgreSQL also from the function rotating the shop's
login); hosts reach the internet (image registry, Session
Manager, Debian mirrors) through the NAT on 80/443 only.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import pulumi
import pulumi_aws as aws

from infra.tags import HostRole, resource_tags


class Tier(StrEnum):
    LOAD_BALANCER = "alb"
    WEB = "web"
    WORKER = "worker"
    DATABASE = "db"
    CACHE = "cache"
    BROKER = "mq"
    # The function that rotates the shop's database login.
    LOGIN_ROTATION = "db-rotation"


# nginx on the web hosts; the app itself listens on 8000 behind it, on localhost only.
HTTP = 80
HTTPS = 443
POSTGRES = 5432
REDIS = 6379
# AMQP over TLS: Amazon MQ for RabbitMQ accepts no plaintext AMQP.
AMQPS = 5671

INTERNET = "0.0.0.0/0"


@dataclass(frozen=True)
class Flow:
    """``source`` may open connections to ``target`` on ``port``."""

    source: Tier | str
    target: Tier | str
    port: int
    why: str


FLOWS: tuple[Flow, ...] = (
    Flow(INTERNET, Tier.LOAD_BALANCER, HTTP, "shoppers; redirected to HTTPS when it is on"),
    Flow(INTERNET, Tier.LOAD_BALANCER, HTTPS, "shoppers"),
    Flow(Tier.LOAD_BALANCER, Tier.WEB, HTTP, "requests and /readyz health checks to nginx"),
    Flow(Tier.WEB, Tier.DATABASE, POSTGRES, "orders, catalog, carts"),
    Flow(Tier.WORKER, Tier.DATABASE, POSTGRES, "background jobs"),
    Flow(Tier.LOGIN_ROTATION, Tier.DATABASE, POSTGRES, "the shop's login changes its password"),
    Flow(Tier.WEB, Tier.CACHE, REDIS, "sessions and page cache"),
    Flow(Tier.WORKER, Tier.CACHE, REDIS, "task results"),
    Flow(Tier.WEB, Tier.BROKER, AMQPS, "enqueue background jobs"),
    Flow(Tier.WORKER, Tier.BROKER, AMQPS, "consume background jobs"),
    Flow(Tier.WEB, Tier.BROKER, HTTPS, "the deploy manages the shop's broker user (management API)"),
    Flow(Tier.WEB, INTERNET, HTTPS, "image registry, Session Manager, Secrets Manager, mirrors"),
    Flow(Tier.WORKER, INTERNET, HTTPS, "image registry, Session Manager, Secrets Manager, mirrors"),
    Flow(Tier.LOGIN_ROTATION, INTERNET, HTTPS, "Secrets Manager"),
    Flow(Tier.WEB, INTERNET, HTTP, "Debian mirrors"),
    Flow(Tier.WORKER, INTERNET, HTTP, "Debian mirrors"),
)

_ROLES = {Tier.WEB: HostRole.WEB, Tier.WORKER: HostRole.WORKER}


@dataclass
class FirewallArgs:
    vpc_id: pulumi.Input[str]
    tags: Mapping[str, str]


class Firewall(pulumi.ComponentResource):
    group_ids: dict[Tier, pulumi.Output[str]]

    def __init__(self, name: str, args: FirewallArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shopstack:network:Firewall", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        groups = {
            tier: aws.ec2.SecurityGroup(
                f"{name}-{tier}",
                vpc_id=args.vpc_id,
                description=f"shopstack {tier}",
                tags=resource_tags(args.tags, f"{name}-{tier}", _ROLES.get(tier)),
                opts=child,
            )
            for tier in Tier
        }

        for flow in FLOWS:
            rule = f"{name}-{_label(flow.source)}-to-{_label(flow.target)}-{flow.port}"
            if flow.target != INTERNET:
                aws.vpc.SecurityGroupIngressRule(
                    rule,
                    security_group_id=groups[Tier(flow.target)].id,
                    ip_protocol="tcp",
                    from_port=flow.port,
                    to_port=flow.port,
                    description=flow.why,
                    tags=resource_tags(args.tags, rule),
                    opts=child,
                    **_peer(flow.source, groups),
                )
            if flow.source != INTERNET:
                aws.vpc.SecurityGroupEgressRule(
                    f"{rule}-out",
                    security_group_id=groups[Tier(flow.source)].id,
                    ip_protocol="tcp",
                    from_port=flow.port,
                    to_port=flow.port,
                    description=flow.why,
                    tags=resource_tags(args.tags, f"{rule}-out"),
                    opts=child,
                    **_peer(flow.target, groups),
                )

        self.group_ids = {tier: group.id for tier, group in groups.items()}
        self.register_outputs({str(tier): group_id for tier, group_id in self.group_ids.items()})


def _label(end: Tier | str) -> str:
    return "internet" if end == INTERNET else str(end)


def _peer(end: Tier | str, groups: dict[Tier, aws.ec2.SecurityGroup]) -> dict[str, object]:
    if end == INTERNET:
        return {"cidr_ipv4": INTERNET}
    return {"referenced_security_group_id": groups[Tier(end)].id}
