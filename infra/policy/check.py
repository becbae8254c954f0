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


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str
    message: str

    def __str__(self) -> str:
        return f"[{self.policy}] {self.message}\n    {self.urn}"


def _options(parent: str = "") -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=parent or None,
    )


def resource_args(
    resource_type: str, props: dict[str, Any], urn: str, name: str, parent: str = ""
) -> ResourceValidationArgs:
    """What the engine hands a resource policy for one resource."""
    return ResourceValidationArgs(resource_type, props, urn, name, _options(parent), None)


def validate_resource(policy: ResourceValidationPolicy, args: ResourceValidationArgs) -> list[str]:
    """The messages ``policy`` reports for one resource."""
    messages: list[str] = []
    result = policy.validate(args, lambda message, urn=None: messages.append(message))
    if isawaitable(result):
        raise TypeError(f"policy {policy.name} is asynchronous; the offline check runs it inline")
    return messages


def validate_stack(policy: StackValidationPolicy, resources: list[offline.RegisteredResource]) -> list[tuple[str, str]]:
    """The ``(message, urn)`` pairs ``policy`` reports for a whole stack."""
    policy_resources = [
        PolicyResource(r.type, r.state, r.urn, r.name, _options(r.parent), None, None, [], {}) for r in resources
    ]
    found: list[tuple[str, str]] = []
    policy.validate(
        StackValidationArgs(policy_resources),
        lambda message, urn=None: found.append((message, urn or "")),
    )
    return found


def check(run: offline.StackRun) -> list[Violation]:
    """Every violation of the policy pack in ``run``."""
    violations: list[Violation] = []
    for policy in POLICIES:
        if isinstance(policy, ResourceValidationPolicy):
            for resource in run.resources:
                if not resource.custom:
                    continue
                args = resource_args(resource.type, resource.inputs, resource.urn, resource.name, resource.parent)
                violations.extend(
                    Violation(policy.name, resource.urn, message) for message in validate_resource(policy, args)
                )
        elif isinstance(policy, StackValidationPolicy):
            violations.extend(
                Violation(policy.name, urn, message) for message, urn in validate_stack(policy, run.resources)
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
