"""A rotation schedule for the shop's database login: Secrets Manager calls a function in the VPC that
changes the role's password in PostgreSQL and in the secret together (``infra/lambdas/
rotate_database_login.py``, Secrets Manager's single-user strategy: the role changes its own password,
so the function never holds the master login).

The function runs in the private subnets with a security group of its own, which the firewall lets
reach PostgreSQL and, through the NAT, Secrets Manager. Only Secrets Manager, for this one secret, may
invoke it. Its code is the module plus the pure-Python PostgreSQL driver it imports (pg8000 and its
dependencies), packaged from this environment, so the function runs the versions ``uv.lock`` pins.

The first rotation comes ``rotate_after_days`` after the schedule is created, not at once: on a new
stack the role does not exist until the first deploy creates it.
"""

import importlib.metadata
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra.tags import resource_tags

FUNCTION_SOURCE = Path(__file__).resolve().parents[1] / "lambdas" / "rotate_database_login.py"
HANDLER = "rotate_database_login.handler"
# The distributions the function imports besides boto3 (which the runtime has): pg8000 and what
# pg8000 needs, all pure Python, so the package does not depend on the machine that builds it.
DRIVER_DISTRIBUTIONS = ("pg8000", "scramp", "asn1crypto", "python-dateutil", "six")
# The policy AWS keeps for functions in a VPC: their network interfaces and their logs.
VPC_ACCESS_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"


@dataclass
class LoginRotationArgs:
    # The secret holding the login ({"username", "password"}) the function rotates.
    secret_arn: pulumi.Input[str]
    # Where the role logs in: the database's address, port and name.
    database_host: pulumi.Input[str]
    database_port: pulumi.Input[int]
    database_name: str
    # The private subnets and the security group (allowed to reach PostgreSQL) the function runs in.
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    # Days CloudWatch keeps the function's log.
    log_retention_days: int
    tags: Mapping[str, str]
    # Days between two rotations of the password.
    rotate_after_days: int = 30
    # The Lambda runtime; the code is pure Python, so any current Python 3 runtime runs it.
    runtime: str = "python3.12"
    # Seconds one step may take: a few Secrets Manager calls and two PostgreSQL logins.
    timeout_seconds: int = 30


def code_archive() -> pulumi.AssetArchive:
    """The function's module at the archive's root, beside the packages of its driver."""
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {FUNCTION_SOURCE.name: pulumi.FileAsset(str(FUNCTION_SOURCE))}
    for name in DRIVER_DISTRIBUTIONS:
        distribution = importlib.metadata.distribution(name)
        for file in distribution.files or ():
            parts = Path(file).parts
            if parts[0] == ".." or parts[0].endswith(".dist-info") or "__pycache__" in parts:
                continue
            assets[Path(file).as_posix()] = pulumi.FileAsset(str(distribution.locate_file(file)))
    return pulumi.AssetArchive(assets)


def rotation_policy(secret_arn: str) -> str:
    """What the function may do: rotate this secret, and ask Secrets Manager for a password."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "RotateTheLogin",
                    "Effect": "Allow",
                    "Action": [
                        "secretsmanager:DescribeSecret",
                        "secretsmanager:GetSecretValue",
                        "secretsmanager:PutSecretValue",
                        "secretsmanager:UpdateSecretVersionStage",
                    ],
                    "Resource": secret_arn,
                },
                {
                    # GetRandomPassword acts on no resource.
                    "Sid": "MakeUpAPassword",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetRandomPassword",
                    "Resource": "*",
                },
            ],
        }
    )


LAMBDA_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


class LoginRotation(pulumi.ComponentResource):
    function_arn: pulumi.Output[str]

    def __init__(self, name: str, args: LoginRotationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shopstack:database:LoginRotation", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=LAMBDA_TRUST,
            description="Rotates the shop's database login",
            tags=resource_tags(args.tags, f"{name}-role"),
            opts=child,
        )
        vpc_access = aws.iam.RolePolicyAttachment(
            f"{name}-vpc-access", role=role.name, policy_arn=VPC_ACCESS_POLICY, opts=child
        )
        rotation = aws.iam.RolePolicy(
            f"{name}-secret",
            role=role.id,
            policy=pulumi.Output.from_input(args.secret_arn).apply(rotation_policy),
            opts=child,
        )
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            retention_in_days=args.log_retention_days,
            tags=resource_tags(args.tags, f"{name}-logs"),
            opts=child,
        )
        function = aws.lambda_.Function(
            f"{name}-function",
            description="Rotates the shop's database login (Secrets Manager's four steps, single user)",
            role=role.arn,
            runtime=args.runtime,
            handler=HANDLER,
            code=code_archive(),
            timeout=args.timeout_seconds,
            vpc_config={"subnet_ids": list(args.subnet_ids), "security_group_ids": [args.security_group_id]},
            environment={
                "variables": {
                    "DATABASE_HOST": args.database_host,
                    "DATABASE_PORT": pulumi.Output.from_input(args.database_port).apply(str),
                    "DATABASE_NAME": args.database_name,
                }
            },
            logging_config={"log_format": "Text", "log_group": logs.name},
            tags=resource_tags(args.tags, f"{name}-function"),
            # Its rights before its first call: an invocation without them fails the step.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[vpc_access, rotation]),
        )
        invoke = aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="secretsmanager.amazonaws.com",
            source_arn=args.secret_arn,
            opts=child,
        )
        aws.secretsmanager.SecretRotation(
            f"{name}-schedule",
            secret_id=args.secret_arn,
            rotation_lambda_arn=function.arn,
            rotation_rules={"automatically_after_days": args.rotate_after_days},
            rotate_immediately=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[invoke]),
        )
        self.function_arn = function.arn
        self.register_outputs({"function_arn": self.function_arn})
