"""The shop's database password rotates while the shop serves, and new connections keep working with
no restart: the web hosts read the login from its secret when they open a connection.

The rotation is done the way Secrets Manager's rotation function does it for RDS: the new password
is staged as AWSPENDING, set in PostgreSQL, then made AWSCURRENT. Every open session of the shop's
login is then closed (as a pool recycling them would), so each web process must open new ones.
Runs where the inventory names the lab's Secrets Manager (lab/aws.py); the password stays rotated,
so every later step of the proof (rolling deploys, their migrations, new workers) runs on it.
"""

from __future__ import annotations

import json
import secrets
import uuid

import pytest
import testinfra

from lab.aws import CREDENTIALS

testinfra_hosts = ["ansible://data"]

# Requests per web host on each side of the rotation: enough to reach each of its processes.
REQUESTS_PER_HOST = 12
DEPENDENCIES = "http://127.0.0.1:8000/readyz/dependencies"


def _secrets_client(variables):
    import boto3

    session = boto3.session.Session(
        region_name=variables["shop_region"],
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    return session.client("secretsmanager", endpoint_url=variables["shop_aws_endpoint_url"])


def _sql(host, sql: str) -> str:
    return host.check_output(f'runuser -u postgres -- psql --dbname shop -AtXc "{sql}"')


def _database_answers(web_host) -> list[str]:
    """The HTTP status of each request to a check that runs a query on the shop's database."""
    return [
        web_host.check_output(f"curl -s -o /dev/null -w '%{{http_code}}' {DEPENDENCIES}")
        for _ in range(REQUESTS_PER_HOST)
    ]


def _logs_in(host, address: str, user: str, password: str) -> bool:
    # psql exits 2 when the server refuses the login.
    attempt = host.run_expect(
        [0, 2], f"PGPASSWORD='{password}' psql --host {address} --username {user} --dbname shop -AtXc 'SELECT 1'"
    )
    return attempt.rc == 0


@pytest.fixture(scope="module")
def rotation(host, inventory, web_hosts, pytestconfig):
    variables = host.ansible.get_variables()
    if not variables.get("shop_aws_endpoint_url"):
        pytest.skip("the inventory names no Secrets Manager the test may rotate")
    path = pytestconfig.getoption("ansible_inventory")
    webs = {name: testinfra.get_host(f"ansible://{name}?ansible_inventory={path}", sudo=True) for name in web_hosts}
    client = _secrets_client(variables)
    secret_id = variables["shop_database_login_secret_arn"]
    old = json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"])
    before = {name: _database_answers(web) for name, web in webs.items()}

    new_password, version = secrets.token_urlsafe(24), str(uuid.uuid4())
    client.put_secret_value(
        SecretId=secret_id,
        ClientRequestToken=version,
        VersionStages=["AWSPENDING"],
        SecretString=json.dumps({**old, "password": new_password}),
    )
    _sql(host, f"ALTER ROLE {old['username']} PASSWORD '{new_password}'")
    stages = client.describe_secret(SecretId=secret_id)["VersionIdsToStages"]
    current = next(v for v, names in stages.items() if "AWSCURRENT" in names)
    client.update_secret_version_stage(
        SecretId=secret_id, VersionStage="AWSCURRENT", MoveToVersionId=version, RemoveFromVersionId=current
    )
    closed = int(
        _sql(host, f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '{old['username']}'")
    )

    after = {name: _database_answers(web) for name, web in webs.items()}
    address = variables["ansible_host"]
    return {
        "before": before,
        "after": after,
        "closed": closed,
        "opened_after": int(_sql(host, f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{old['username']}'")),
        "old_logs_in": _logs_in(host, address, old["username"], old["password"]),
        "new_logs_in": _logs_in(host, address, old["username"], new_password),
    }


def test_database_answers_every_web_process_before_the_rotation(rotation):
    assert {name: set(codes) for name, codes in rotation["before"].items()} == dict.fromkeys(
        rotation["before"], {"200"}
    )


def test_rotation_closes_the_shops_open_sessions(rotation):
    assert rotation["closed"] > 0


def test_web_processes_open_new_sessions_with_the_rotated_password(rotation):
    assert {name: set(codes) for name, codes in rotation["after"].items()} == dict.fromkeys(rotation["after"], {"200"})
    assert rotation["opened_after"] > 0


def test_old_password_no_longer_logs_in(rotation):
    assert (rotation["old_logs_in"], rotation["new_logs_in"]) == (False, True)
