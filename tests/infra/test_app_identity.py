import json

import pytest

from infra.components.app_identity import AppIdentity, AppIdentityArgs
from tests.infra.support import TAGS, build

LOGIN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shopstack/shop-test/database-login-AbCdEf"


@pytest.fixture(scope="module")
def identity():
    return build(lambda: AppIdentity("shop-test-app", AppIdentityArgs("123456789012", [LOGIN], TAGS)))


def test_the_shops_role_reads_its_database_login_and_nothing_else(identity):
    policy = identity.one("aws:iam/rolePolicy:RolePolicy")
    statements = json.loads(policy.inputs["policy"])["Statement"]
    assert [(s["Action"], s["Resource"]) for s in statements] == [
        (["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], [LOGIN])], policy.urn


def test_only_principals_of_the_stacks_account_may_assume_the_shops_role(identity):
    role = identity.one("aws:iam/role:Role")
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}, role.urn
    assert statement["Action"] == "sts:AssumeRole", role.urn


def test_the_shops_credentials_live_an_hour_at_most(identity):
    role = identity.one("aws:iam/role:Role")
    assert role.inputs["maxSessionDuration"] == 3600, role.urn
