"""Tag keys every cloud resource carries; the Ansible inventory and the policy pack import them.

The aws_ec2 inventory plugin selects hosts with the filters from ``host_selector``; the policy pack
refuses any taggable resource missing one of ``REQUIRED_TAG_KEYS``.
"""

from collections.abc import Mapping
from enum import StrEnum

PROJECT = "Project"
ENVIRONMENT = "Environment"
MANAGED_BY = "ManagedBy"
STACK = "shopstack:stack"
# The stack's tier (``Tier``): the policy pack holds production to its rules by this tag, on the
# resources and on the stack itself (a Pulumi Cloud stack tag), never by the stack's name.
TIER = "shopstack:tier"
ROLE = "shopstack:role"
NAME = "Name"

REQUIRED_TAG_KEYS: tuple[str, ...] = (PROJECT, ENVIRONMENT, MANAGED_BY, STACK, TIER)


class Tier(StrEnum):
    """What a stack is for; ``shopstack:tier`` in each stack file."""

    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"


class HostRole(StrEnum):
    """The jobs a host does; each is one Auto Scaling group and one Ansible group."""

    WEB = "web"
    WORKER = "worker"


def stack_tags(project: str, stack: str, tier: Tier) -> dict[str, str]:
    """The tags every resource in a stack carries."""
    return {PROJECT: project, ENVIRONMENT: stack, MANAGED_BY: "pulumi", STACK: stack, TIER: str(tier)}


def resource_tags(base: Mapping[str, str], name: str, role: HostRole | None = None) -> dict[str, str]:
    """``base`` plus the resource's ``Name`` and, for anything serving one host role, that role."""
    tags = {**base, NAME: name}
    if role is not None:
        tags[ROLE] = str(role)
    return tags


def host_selector(stack: str, role: HostRole) -> dict[str, str]:
    """aws_ec2 inventory filters that select one stack's hosts of one role."""
    return {f"tag:{STACK}": stack, f"tag:{ROLE}": str(role)}
