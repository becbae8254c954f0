"""Serve the policies to the Pulumi engine: ``pulumi preview --policy-pack infra/policy``."""
# ruff: noqa: E402

import sys
from pathlib import Path

# The engine runs this directory as the program; the policies import the infra package.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from pulumi_policy import EnforcementLevel, PolicyPack

from infra.policy.policies import POLICIES

PolicyPack(
    name="shopstack",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
)
