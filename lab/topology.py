"""What the lab is made of: one Docker network, the registry and the hosts standing in for AWS."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from infra.tags import HostRole

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / "lab" / ".state"
INVENTORY = ROOT / "playbooks" / "inventories" / "lab"
# Downloaded .deb files and package lists survive `lab down`, so the next bring-up installs
# without downloading them again.
APT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "shopstack-lab" / "apt"

PREFIX = "shopstack-lab"
NETWORK = PREFIX
SUBNET = ipaddress.ip_network(os.environ.get("LAB_SUBNET", "172.29.77.0/24"))
GATEWAY = SUBNET[1]
SSH_USER = "admin"  # the default user of Debian's AMIs
REGISTRY_IP = SUBNET[2]
REGISTRY_PORT = 5000
# Where this machine's engine pushes: a port published on loopback (an insecure registry there
# is allowed by default, so the machine's own daemon needs no configuration).
REGISTRY_PUSH_PORT = int(os.environ.get("LAB_REGISTRY_PUSH_PORT", "5077"))
REGISTRY_USER = "shopstack"
# The lab's AWS endpoint (lab/aws.py: Secrets Manager, S3, Auto Scaling), served from this machine
# on the lab network's gateway, where the hosts reach it.
AWS_ADDRESS = GATEWAY
AWS_PORT = int(os.environ.get("LAB_AWS_PORT", "4566"))
REPOSITORY = "shop"


@dataclass(frozen=True)
class LabHost:
    name: str
    group: str
    octet: int
    purpose: str

    @property
    def ip(self) -> str:
        return str(SUBNET[self.octet])

    @property
    def container(self) -> str:
        return f"{PREFIX}-{self.name}"


# Groups: the host roles infra/ tags EC2 instances with, and the lab's stand-ins for what AWS
# manages (lb: the ALB; data: RDS, ElastiCache, Amazon MQ; monitor: Prometheus).
HOSTS = (
    LabHost("lb-1", "lb", 10, "load balancer in front of the web hosts (the ALB)"),
    LabHost("web-1", HostRole.WEB, 11, "the shop's web container behind nginx"),
    LabHost("web-2", HostRole.WEB, 12, "the shop's web container behind nginx"),
    LabHost("worker-1", HostRole.WORKER, 21, "the shop's queue worker"),
    LabHost("data-1", "data", 31, "PostgreSQL, Redis and RabbitMQ (RDS, ElastiCache, the broker)"),
    LabHost("monitor-1", "monitor", 41, "Prometheus and Alertmanager"),
)


# The host the proof launches as the web Auto Scaling group's scale-out: it is in no inventory and
# configures itself from its first-boot script alone (tests/hosts/scaling).
NEW_WEB_HOST = LabHost("web-3", HostRole.WEB, 13, "a web host launched by its Auto Scaling group")


def registry_address() -> str:
    return f"{REGISTRY_IP}:{REGISTRY_PORT}"


def push_repository() -> str:
    return f"127.0.0.1:{REGISTRY_PUSH_PORT}/{REPOSITORY}"
