"""Building one component under Pulumi's mocks and asserting on what it registered."""

from collections.abc import Callable
from typing import Any, TypeVar

import pulumi
import yaml
from pulumi.runtime import rpc

from infra import config, offline
from infra.tags import Tier, stack_tags

TAGS = stack_tags("shopstack", "test", Tier.DEVELOPMENT)
SUBNETS = ["subnet-a", "subnet-b", "subnet-c"]

_Settings = TypeVar("_Settings")


def settings(stack: str, section: str, cls: type[_Settings], **changes: Any) -> _Settings:
    """A settings section as the stack file has it, with ``changes`` applied."""
    document = yaml.safe_load((offline.ROOT / f"Pulumi.{stack}.yaml").read_text())
    raw = {**document["config"][f"shopstack:{section}"]}
    parsed = config.parse_section(section, raw, cls)
    return type(parsed)(**{**parsed.__dict__, **changes})


def build(program: Callable[[], Any]) -> offline.StackRun:
    """Run ``program`` under mocks; ``program`` may return Outputs to check, which the run
    resolves (so an assertion inside ``Output.all(...).apply`` fails the run)."""

    def registered() -> None:
        result = program()
        if result is not None:
            pulumi.export("checks", result)

    return offline.run_program(registered)


def is_secret(value: Any) -> bool:
    """Whether a registered input is Pulumi's wire form of a secret (encrypted in state)."""
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig
