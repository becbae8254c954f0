"""Apply the policy pack to an offline run of the program, without the Pulumi engine.

``python -m infra.policy.check [stack ...]`` runs each stack's program under mocks and prints
every violation, exactly as ``pulumi preview --policy-pack infra/policy`` would report them.
"""

import argparse
import sys
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra import offline
from infra.policy.policies import POLICIES
from infra.tags import TIER


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str
    message: str

    def __str__(self) -> str:
        return f"[{self.policy}] {self.message}\n    {self.urn}"


def _options(parent: str = "", protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=parent or None,
    )


def stack_tags_of(run: offline.StackRun) -> dict[str, str]:
    """The stack tags an operator sets in Pulumi Cloud (``pulumi stack tag set``), as the stack
    file declares them: the tier."""
    tier = run.config.get("shopstack:tier")
    return {TIER: tier} if tier else {}


def resource_args(
    resource_type: str,
    props: dict[str, Any],
    urn: str,
    name: str,
    parent: str = "",
    protect: bool = False,
    stack_tags: dict[str, str] | None = None,
) -> ResourceValidationArgs:
    """What the engine hands a resource policy for one resource."""
    return ResourceValidationArgs(
        resource_type, props, urn, name, _options(parent, protect), None, stack_tags=stack_tags or {}
    )


def validate_resource(policy: ResourceValidationPolicy, args: ResourceValidationArgs) -> list[str]:
    """The messages ``policy`` reports for one resource."""
    messages: list[str] = []
    result = policy.validate(args, lambda message, urn=None: messages.append(message))
    if isawaitable(result):
        raise TypeError(f"policy {policy.name} is asynchronous; the offline check runs it inline")
    return messages


def validate_stack(
    policy: StackValidationPolicy,
    resources: list[offline.RegisteredResource],
    stack_tags: dict[str, str] | None = None,
) -> list[tuple[str, str]]:
    """The ``(message, urn)`` pairs ``policy`` reports for a whole stack."""
    by_urn = {
        r.urn: PolicyResource(r.type, r.state, r.urn, r.name, _options(r.parent, r.protect), None, None, [], {})
        for r in resources
    }
    for r in resources:
        by_urn[r.urn].dependencies = [by_urn[urn] for urn in r.dependencies if urn in by_urn]
        by_urn[r.urn].property_dependencies = {
            key: [by_urn[urn] for urn in urns if urn in by_urn] for key, urns in r.property_dependencies.items()
        }
    found: list[tuple[str, str]] = []
    policy.validate(
        StackValidationArgs(list(by_urn.values()), stack_tags=stack_tags or {}),
        lambda message, urn=None: found.append((message, urn or "")),
    )
    return found


def check(run: offline.StackRun) -> list[Violation]:
    """Every violation of the policy pack in ``run``."""
    violations: list[Violation] = []
    stack_tags = stack_tags_of(run)
    for policy in POLICIES:
        if isinstance(policy, ResourceValidationPolicy):
            for resource in run.resources:
                if not resource.custom:
                    continue
                args = resource_args(
                    resource.type,
                    resource.inputs,
                    resource.urn,
                    resource.name,
                    resource.parent,
                    protect=resource.protect,
                    stack_tags=stack_tags,
                )
                violations.extend(
                    Violation(policy.name, resource.urn, message) for message in validate_resource(policy, args)
                )
        elif isinstance(policy, StackValidationPolicy):
            violations.extend(
                Violation(policy.name, urn, message)
                for message, urn in validate_stack(policy, run.resources, stack_tags)
            )
    return violations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*", default=list(offline.STACKS))
    stacks = parser.parse_args(argv).stacks
    failed = False
    for stack in stacks:
        violations = check(offline.run(stack))
        print(f"{stack}: {len(violations)} violation(s)")
        for violation in violations:
            print(f"  {violation}")
        failed = failed or bool(violations)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
