"""The role GitHub Actions assumes to deploy a stack, through OIDC: no stored AWS keys.

GitHub's OIDC provider (``token.actions.githubusercontent.com``) signs a token for each job; the
role trusts only tokens for this repository's jobs running in the stack's GitHub environment
(``repo:<owner>/<name>:environment:<stack>``), so the environment's protection rules (required
reviewers on prod) stand between a workflow and the role. The role may push the image to the
stack's registry and run the playbooks (find the hosts, reach them through Session Manager, stage
files in the transfer bucket, read the stack's secrets, move web hosts in and out of service). It
is named ``shop-<stack>-ci-deploy``; set its ARN as the environment's ``AWS_DEPLOY_ROLE_ARN``.

Not granted: ``pulumi up`` itself. The role that provisions the estate needs rights over IAM and
every service here, which the policy pack rightly refuses to attach from within the program; it
is created once per account outside it.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.tags import STACK, HostRole, resource_tags

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"
# The repository whose workflows may deploy; ``shopstack:ci.githubRepository`` overrides it.
GITHUB_REPOSITORY = "shopstack/shopstack"


@dataclass
class CiAccessArgs:
    stack: str
    repository_arn: pulumi.Input[str]
    secret_arns: Sequence[pulumi.Input[str]]
    transfer_bucket: pulumi.Input[str]
    bundle_bucket: pulumi.Input[str]
    web_group_name: pulumi.Input[str]
    tags: Mapping[str, str]
    # owner/name of the GitHub repository whose jobs may assume the role.
    github_repository: str = GITHUB_REPOSITORY
    # GitHub environments whose jobs may assume the role; the stack's own by default.
    environments: Sequence[str] = field(default_factory=tuple)
    # The account's GitHub OIDC provider when another stack already created it (there is one per
    # account and URL); None creates it here.
    oidc_provider_arn: str | None = None

    @classmethod
    def of(cls, stack: str, registry: Any, secrets: Any, database: Any, transfer: Any, bundles: Any,
           hosts: Mapping[Any, Any], tags: Mapping[str, str]) -> "CiAccessArgs":
        """The arguments from the program's components and the optional ``shopstack:ci`` settings."""
        settings = pulumi.Config("shopstack").get_object("ci") or {}
        return cls(
            stack=stack,
            repository_arn=registry.repository_arn,
            secret_arns=[database.secret_arn, secrets.database_login_secret_arn, secrets.app_secret_arn,
                         secrets.cache_auth_secret_arn, secrets.broker_secret_arn, secrets.broker_admin_secret_arn],
            transfer_bucket=transfer.bucket_name,
            bundle_bucket=bundles.bucket_name,
            web_group_name=hosts[HostRole.WEB].group_name,
            tags=tags,
            github_repository=settings.get("githubRepository", GITHUB_REPOSITORY),
            environments=tuple(settings.get("environments", (stack,))),
            oidc_provider_arn=settings.get("oidcProviderArn"),
        )


def trust_policy(provider_arn: str, repository: str, environments: Sequence[str]) -> str:
    issuer = GITHUB_OIDC_URL.removeprefix("https://")
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{issuer}:aud": GITHUB_OIDC_AUDIENCE,
                    f"{issuer}:sub": [f"repo:{repository}:environment:{env}" for env in environments],
                },
            },
        }],
    })


def deploy_policy(stack: str, repository_arn: str, secret_arns: Sequence[str], bucket: str, web_group: str,
                  bundle_bucket: str) -> str:
    def allow(sid: str, actions: list[str], resources: list[str] | str, **extra: Any) -> dict[str, Any]:
        return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources, **extra}

    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            allow("PushTheImage", ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
                                   "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload",
                                   "ecr:PutImage", "ecr:UploadLayerPart"], [repository_arn]),
            # These calls take no resource: AWS only accepts "*" for them.
            allow("LogInAndFindTheHosts", ["ecr:GetAuthorizationToken", "ec2:DescribeInstances",
                                           "autoscaling:DescribeAutoScalingGroups",
                                           "autoscaling:DescribeAutoScalingInstances",
                                           "elasticloadbalancing:DescribeTargetHealth"], "*"),
            allow("ReachTheStacksHosts", ["ssm:StartSession"], ["arn:aws:ec2:*:*:instance/*"],
                  Condition={"StringEquals": {f"ssm:resourceTag/{STACK}": stack}}),
            allow("OpenShellSessions", ["ssm:StartSession"], ["arn:aws:ssm:*:*:document/SSM-SessionManagerRunShell"]),
            allow("EndOwnSessions", ["ssm:TerminateSession", "ssm:ResumeSession"],
                  ["arn:aws:ssm:*:*:session/${aws:userid}-*"]),
            allow("StageFiles", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [f"arn:aws:s3:::{bucket}/*"]),
            allow("ListStagedFiles", ["s3:ListBucket", "s3:GetBucketLocation"], [f"arn:aws:s3:::{bucket}"]),
            allow("PublishPlaybookBundles", ["s3:PutObject", "s3:GetObject"],
                  [f"arn:aws:s3:::{bundle_bucket}/playbooks/*"]),
            allow("ReadTheStacksSecrets", ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                  list(secret_arns)),
            allow("MoveWebHostsInAndOut", ["autoscaling:EnterStandby", "autoscaling:ExitStandby"],
                  [f"arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/{web_group}"]),
        ],
    })


class CiAccess(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(self, name: str, args: CiAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shopstack:ci:CiAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        provider_arn: pulumi.Input[str]
        if args.oidc_provider_arn:
            provider_arn = args.oidc_provider_arn
        else:
            provider = aws.iam.OpenIdConnectProvider(
                f"{name}-github",
                url=GITHUB_OIDC_URL,
                client_id_lists=[GITHUB_OIDC_AUDIENCE],
                tags=resource_tags(args.tags, f"{name}-github"),
                opts=child,
            )
            provider_arn = provider.arn
        environments = list(args.environments) or [args.stack]
        role = aws.iam.Role(
            f"{name}-deploy",
            name=f"{name}-deploy",
            description=f"GitHub Actions deploys of shopstack {args.stack} ({args.github_repository})",
            assume_role_policy=pulumi.Output.from_input(provider_arn).apply(
                lambda arn: trust_policy(arn, args.github_repository, environments)),
            max_session_duration=3600,
            tags=resource_tags(args.tags, f"{name}-deploy"),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-deploy",
            role=role.id,
            policy=pulumi.Output.all(args.repository_arn, args.transfer_bucket, args.web_group_name, args.bundle_bucket,
                                     *args.secret_arns).apply(
                lambda values: deploy_policy(args.stack, values[0], list(values[4:]), values[1], values[2], values[3])),
            opts=child,
        )
        self.role_arn = role.arn
        self.role_name = role.name
        self.register_outputs({"role_arn": self.role_arn, "role_name": self.role_name})
