"""The role GitHub Actions deploys with: trusted through OIDC for this repository's environment only."""

import json

import pytest

from infra import offline
from infra.components.ci_access import GITHUB_OIDC_URL, GITHUB_REPOSITORY

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
ISSUER = GITHUB_OIDC_URL.removeprefix("https://")


def _role(run: offline.StackRun) -> offline.RegisteredResource:
    return run.one(ROLE, f"shop-{run.stack}-ci-deploy")


def _trust(run: offline.StackRun) -> dict:
    return json.loads(_role(run).inputs["assumeRolePolicy"])["Statement"]


def _grants(run: offline.StackRun) -> dict[str, dict]:
    document = json.loads(run.one(ROLE_POLICY, f"shop-{run.stack}-ci-deploy").inputs["policy"])
    return {statement["Sid"]: statement for statement in document["Statement"]}


@pytest.mark.parametrize("stack", offline.STACKS)
def test_the_role_trusts_only_githubs_oidc_tokens_for_the_stacks_environment(stack_runs, stack):
    run = stack_runs[stack]
    [statement] = _trust(run)
    provider = run.one(PROVIDER)
    assert statement["Principal"] == {"Federated": provider.state["arn"]}, _role(run).urn
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {"StringEquals": {
        f"{ISSUER}:aud": "sts.amazonaws.com",
        f"{ISSUER}:sub": [f"repo:{GITHUB_REPOSITORY}:environment:{stack}"],
    }}


@pytest.mark.parametrize("stack", offline.STACKS)
def test_the_provider_is_githubs_for_sts(stack_runs, stack):
    provider = stack_runs[stack].one(PROVIDER)
    assert provider.inputs["url"] == GITHUB_OIDC_URL and provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]


@pytest.mark.parametrize("stack", offline.STACKS)
def test_no_stored_access_key_exists(stack_runs, stack):
    assert stack_runs[stack].of_type("aws:iam/accessKey:AccessKey") == []


def test_the_image_is_pushed_only_to_the_stacks_registry(stack_runs):
    run = stack_runs["dev"]
    push = _grants(run)["PushTheImage"]
    assert push["Resource"] == [run.one("aws:ecr/repository:Repository").state["arn"]]
    assert "ecr:PutImage" in push["Action"] and not any(a.endswith("*") for a in push["Action"])


def test_sessions_reach_only_the_stacks_hosts(stack_runs):
    sessions = _grants(stack_runs["staging"])["ReachTheStacksHosts"]
    assert sessions["Condition"] == {"StringEquals": {"ssm:resourceTag/shopstack:stack": "staging"}}


def test_only_the_stacks_secrets_are_readable(stack_runs):
    run = stack_runs["prod"]
    secrets = _grants(run)["ReadTheStacksSecrets"]["Resource"]
    assert len(secrets) == 6 and all(":secret:" in arn and "prod" in arn for arn in secrets), secrets


def test_an_existing_provider_is_reused_not_created_again():
    arn = f"arn:aws:iam::{offline.ACCOUNT}:oidc-provider/{ISSUER}"
    config = {**offline.stack_config("staging"),
              "shopstack:ci": {"oidcProviderArn": arn, "githubRepository": "acme/shop",
                               "environments": ["staging", "staging-hotfix"]}}
    run = offline.run("staging", config)
    [statement] = _trust(run)
    assert run.of_type(PROVIDER) == [] and statement["Principal"] == {"Federated": arn}
    assert statement["Condition"]["StringEquals"][f"{ISSUER}:sub"] == [
        "repo:acme/shop:environment:staging", "repo:acme/shop:environment:staging-hotfix"]
