"""Where a deploy goes: the lab, or an AWS stack (dev, staging, prod), under the same names.

Both give the playbooks an inventory with the same groups and ``shop_*`` variables, and the shop's
URL through the load balancer (lb-1 in the lab, the ALB in AWS).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.runner import ROOT, StepFailed

PLAYBOOKS = ROOT / "playbooks"
STACKS = ("dev", "staging", "prod")


@dataclass(frozen=True)
class Target:
    name: str
    inventory: Path
    public_url: str
    env: dict[str, str] = field(default_factory=dict)


def resolve(name: str) -> Target:
    if name == "lab":
        from lab import aws, inventory, topology
        from lab.secrets import VAULT_PASSWORD

        if not (topology.INVENTORY / "hosts.yml").exists() or not VAULT_PASSWORD.exists():
            raise StepFailed("the lab is not up: make lab-up")
        return Target(
            "lab",
            topology.INVENTORY,
            str(inventory.stack_vars()["shop_public_url"]),
            {"ANSIBLE_VAULT_PASSWORD_FILE": str(VAULT_PASSWORD), **aws.CREDENTIALS},
        )
    if name not in STACKS:
        raise StepFailed(f"unknown target {name!r}: lab or one of {', '.join(STACKS)}")
    subprocess.run(
        [sys.executable, str(ROOT / "pipelines" / "render_aws_inventory.py"), "--stack", name], cwd=ROOT, check=True
    )
    url = subprocess.run(
        ["pulumi", "stack", "output", "shop_url", "--stack", name], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    return Target(name, PLAYBOOKS / "inventories" / "aws", url)


def ansible_env(target: Target) -> dict[str, str]:
    # /usr/bin first: the machine's own docker client, not another one earlier on PATH (as lab/proof.py).
    return {
        **os.environ,
        "PATH": f"/usr/bin:{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        **target.env,
    }
