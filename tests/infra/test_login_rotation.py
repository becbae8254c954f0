import ast
import json

import pytest

from infra.components.login_rotation import FUNCTION_SOURCE, HANDLER, LoginRotation, LoginRotationArgs
from tests.infra.support import SUBNETS, TAGS, build

LOGIN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shopstack/shop-test/database-login-AbCdEf"
FUNCTION = "aws:lambda/function:Function"


@pytest.fixture(scope="module")
def rotation():
    return build(
        lambda: LoginRotation(
            "shop-test-db-login",
            LoginRotationArgs(
                secret_arn=LOGIN,
                database_host="shop-test-db.c0ffee.us-east-1.rds.amazonaws.com",
                database_port=5432,
                database_name="shop",
                subnet_ids=SUBNETS,
                security_group_id="sg-rotation",
                log_retention_days=30,
                tags=TAGS,
            ),
        )
    )


def test_the_login_rotates_every_30_days_through_the_function(rotation):
    schedule = rotation.one("aws:secretsmanager/secretRotation:SecretRotation")
    function = rotation.one(FUNCTION)
    assert schedule.inputs["secretId"] == LOGIN, schedule.urn
    assert schedule.inputs["rotationLambdaArn"] == function.state["arn"], schedule.urn
    assert schedule.inputs["rotationRules"] == {"automaticallyAfterDays": 30}, schedule.urn


def test_the_first_rotation_waits_for_the_schedule_not_the_stacks_creation(rotation):
    schedule = rotation.one("aws:secretsmanager/secretRotation:SecretRotation")
    assert schedule.inputs["rotateImmediately"] is False, schedule.urn


def test_only_secrets_manager_may_invoke_the_function_and_only_for_the_login(rotation):
    permission = rotation.one("aws:lambda/permission:Permission")
    function = rotation.one(FUNCTION)
    assert permission.inputs["principal"] == "secretsmanager.amazonaws.com", permission.urn
    assert permission.inputs["sourceArn"] == LOGIN, permission.urn
    assert permission.inputs["action"] == "lambda:InvokeFunction", permission.urn
    assert permission.inputs["function"] == function.state["name"], permission.urn


def test_the_schedule_is_set_once_secrets_manager_may_invoke_the_function(rotation):
    schedule = rotation.one("aws:secretsmanager/secretRotation:SecretRotation")
    permission = rotation.one("aws:lambda/permission:Permission")
    assert permission.urn in schedule.dependencies, schedule.urn


def test_the_function_runs_in_the_private_subnets_with_its_own_security_group(rotation):
    function = rotation.one(FUNCTION)
    assert function.inputs["vpcConfig"] == {"subnetIds": SUBNETS, "securityGroupIds": ["sg-rotation"]}, function.urn


def test_the_function_finds_the_database_in_its_environment(rotation):
    function = rotation.one(FUNCTION)
    assert function.inputs["environment"]["variables"] == {
        "DATABASE_HOST": "shop-test-db.c0ffee.us-east-1.rds.amazonaws.com",
        "DATABASE_PORT": "5432",
        "DATABASE_NAME": "shop",
    }, function.urn


def test_the_functions_role_may_manage_its_network_interfaces_in_the_vpc(rotation):
    attachment = rotation.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"


def test_the_functions_role_rotates_the_login_and_no_other_secret(rotation):
    policy = rotation.one("aws:iam/rolePolicy:RolePolicy")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements["RotateTheLogin"]["Resource"] == LOGIN, policy.urn
    assert statements["MakeUpAPassword"]["Action"] == "secretsmanager:GetRandomPassword", policy.urn
    assert set(statements) == {"RotateTheLogin", "MakeUpAPassword"}, policy.urn


def test_only_lambda_may_assume_the_functions_role(rotation):
    role = rotation.one("aws:iam/role:Role")
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}, role.urn


def test_the_function_logs_to_a_group_with_a_retention(rotation):
    function = rotation.one(FUNCTION)
    group = rotation.one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["retentionInDays"] == 30, group.urn
    assert function.inputs["loggingConfig"]["logGroup"] == group.state["name"], function.urn


def test_the_package_holds_the_handler_and_the_driver_it_imports(rotation):
    archive = rotation.one(FUNCTION).inputs["code"]
    module, function = HANDLER.split(".")
    imported = {
        (node.module or "").split(".")[0]
        for node in ast.walk(ast.parse(FUNCTION_SOURCE.read_text()))
        if isinstance(node, ast.ImportFrom)
    } | {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(FUNCTION_SOURCE.read_text()))
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    packages = {path.split("/")[0].removesuffix(".py") for path in archive.assets}
    assert f"{module}.py" in archive.assets
    assert function in dir(__import__("infra.lambdas.rotate_database_login", fromlist=[function]))
    # What the runtime lacks: pg8000 and the packages it imports (boto3 and the standard library it has).
    assert {"pg8000", "scramp", "asn1crypto", "dateutil", "six"} <= packages
    assert imported - {"__future__", "json", "logging", "os", "ssl", "typing", "boto3"} <= packages
