"""The AWS identity the shop's processes act as: a role that may read the shop's database login and
nothing else.

The shop's containers are refused the instance metadata service (the docker role), so they never
hold the instance role's credentials. Each app host instead runs a local credential endpoint (the
``app_credentials`` role) that assumes this role and hands its short-lived credentials to the
containers the way ECS hands a task its role (``AWS_CONTAINER_CREDENTIALS_FULL_URI``). The role
trusts the account, so only principals whose own policy allows ``sts:AssumeRole`` on it (the app
hosts' instance roles) may assume it: naming the host roles here would make a cycle, since their
policies name this role.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.tags import resource_tags


@dataclass
class AppIdentityArgs:
    # The account whose principals may assume the role (when their own policy allows it).
    account_id: str
    # Secrets the shop reads while it runs (its database login).
    secret_arns: Sequence[pulumi.Input[str]]
    tags: Mapping[str, str]
    # Longest life of one set of credentials; the endpoint renews them well before.
    max_session_seconds: int = 3600


def trust_policy(account_id: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "sts:AssumeRole",
        }],
    })


def app_policy(secret_arns: Sequence[str]) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "ReadTheDatabaseLogin",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Resource": list(secret_arns),
        }],
    })


class AppIdentity(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AppIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shopstack:compute:AppIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=trust_policy(args.account_id),
            description="The shop's processes: read the database login",
            max_session_duration=args.max_session_seconds,
            tags=resource_tags(args.tags, f"{name}-role"),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-secrets",
            role=role.id,
            policy=pulumi.Output.all(*args.secret_arns).apply(lambda arns: app_policy(list(arns))),
            opts=child,
        )
        self.role_arn = role.arn
        self.register_outputs({"role_arn": self.role_arn})
