"""The database login's rotation function (infra/lambdas/rotate_database_login.py), its four steps
run against the emulator's Secrets Manager and a PostgreSQL cluster of the test's own that checks
passwords, for a role shaped like ``shop_app`` (no superuser, database or role rights).

Secrets Manager starts a rotation by labelling a new, empty version ``AWSPENDING`` and then calls the
function once per step with that version's id. moto does that only when it can run the function in
Docker, so ``start_rotation`` does the first half the way moto's own ``rotate_secret`` does, and the
tests call the handler for each step as the service would.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from moto.backends import get_backend
from moto.core import DEFAULT_ACCOUNT_ID

from infra.lambdas import rotate_database_login
from infra.lambdas.rotate_database_login import handler
from tests.app.own_services import PostgresCluster

from .conftest import REGION, admin, emulated_secrets_manager

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


@pytest.fixture
def secrets(endpoint_url, monkeypatch, cluster):
    client = emulated_secrets_manager(monkeypatch, endpoint_url)
    # What the function's environment holds on AWS (the endpoint and credentials aside).
    monkeypatch.setenv("DATABASE_HOST", "127.0.0.1")
    monkeypatch.setenv("DATABASE_PORT", str(cluster.port))
    monkeypatch.setenv("DATABASE_NAME", "postgres")
    # The test's cluster has no certificate; RDS's rds.force_ssl would refuse this.
    monkeypatch.setenv("DATABASE_TLS_CA_FILE", "off")
    return client


class Login:
    """A role like the shop's, its first password in PostgreSQL and in a secret."""

    def __init__(self, cluster: PostgresCluster, secrets, name: str) -> None:
        self.cluster, self.secrets, self.name = cluster, secrets, name
        self.first_password = uuid.uuid4().hex
        with admin(cluster) as superuser:
            superuser.execute(
                f"CREATE ROLE \"{name}\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{self.first_password}'"
            )
        self.secret_arn = secrets.create_secret(
            Name=f"shopstack/test/{name}", SecretString=json.dumps({"username": name, "password": self.first_password})
        )["ARN"]

    def start_rotation(self) -> str:
        """What RotateSecret does before it calls the function: rotation on (every 30 days), a new
        version with no value labelled AWSPENDING. Returns the version's id, the steps' token."""
        token = str(uuid.uuid4())
        secret = get_backend("secretsmanager")[DEFAULT_ACCOUNT_ID][REGION].secrets[self.secret_arn]
        secret.rotation_requested = secret.rotation_enabled = True
        secret.auto_rotate_after_days = 30
        secret.rotation_lambda_arn = f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function:rotate-database-login"
        secret.remove_version_stages_from_old_versions(["AWSPENDING"])
        secret.versions[token] = {"createdate": int(time.time()), "version_id": token, "version_stages": ["AWSPENDING"]}
        return token

    def run(self, token: str, *steps: str) -> None:
        for step in steps:
            handler({"SecretId": self.secret_arn, "ClientRequestToken": token, "Step": step})

    def value(self, stage: str = "AWSCURRENT") -> dict:
        answer = self.secrets.get_secret_value(SecretId=self.secret_arn, VersionStage=stage)
        return {"version": answer["VersionId"], **json.loads(answer["SecretString"])}

    def stages(self) -> dict[str, list[str]]:
        return self.secrets.describe_secret(SecretId=self.secret_arn)["VersionIdsToStages"]

    def logs_in_with(self, password: str) -> bool:
        """Whether a new connection with ``password`` is accepted."""
        try:
            with psycopg.connect(
                host="127.0.0.1",
                port=self.cluster.port,
                dbname="postgres",
                user=self.name,
                password=password,
                connect_timeout=5,
            ) as connection:
                return connection.execute("SELECT current_user").fetchone()[0] == self.name
        except psycopg.OperationalError as error:
            assert "password authentication failed" in str(error)
            return False

    def drop(self) -> None:
        with admin(self.cluster) as superuser:
            superuser.execute(f'DROP ROLE IF EXISTS "{self.name}"')


@pytest.fixture
def login(cluster, secrets) -> Iterator[Login]:
    login = Login(cluster, secrets, f"shop_app_{uuid.uuid4().hex[:10]}")
    yield login
    login.drop()


def test_a_rotation_sets_a_new_password_on_the_role_and_makes_it_current(login):
    token = login.start_rotation()
    login.run(token, *STEPS)

    current = login.value()
    assert (current["version"], current["username"]) == (token, login.name)
    assert current["password"] != login.first_password
    assert login.logs_in_with(current["password"])


def test_the_old_password_no_longer_logs_in_after_the_rotation(login):
    login.run(login.start_rotation(), *STEPS)

    assert not login.logs_in_with(login.first_password)


def test_the_old_version_stays_readable_as_previous(login):
    first = login.value()["version"]
    login.run(login.start_rotation(), *STEPS)

    assert login.value("AWSPREVIOUS") == {"version": first, "username": login.name, "password": login.first_password}


def test_each_step_run_twice_leaves_what_one_run_left(login):
    token = login.start_rotation()
    states = []
    for step in STEPS:
        login.run(token, step)
        once = login.stages(), login.value("AWSPENDING")
        login.run(token, step)
        states.append((once, (login.stages(), login.value("AWSPENDING"))))

    assert all(once == twice for once, twice in states)
    assert login.logs_in_with(login.value()["password"])


def test_a_rotation_stopped_after_set_secret_finishes_when_retried(login):
    token = login.start_rotation()
    login.run(token, "createSecret", "setSecret")
    # The old password no longer logs in; Secrets Manager retries the whole rotation with the same token.
    login.run(token, *STEPS)

    assert login.value()["version"] == token
    assert login.logs_in_with(login.value()["password"])


def test_two_rotations_in_a_row_each_change_the_password(login):
    login.run(login.start_rotation(), *STEPS)
    second = login.value()["password"]
    login.run(login.start_rotation(), *STEPS)

    assert login.value()["password"] not in {login.first_password, second}
    assert login.logs_in_with(login.value()["password"])


def test_a_pending_password_that_does_not_log_in_is_never_made_current(login):
    token = login.start_rotation()
    login.run(token, "createSecret")  # setSecret skipped: PostgreSQL still has the first password

    with pytest.raises(ValueError, match="does not log in"):
        login.run(token, "testSecret")
    assert login.value()["password"] == login.first_password
    assert login.logs_in_with(login.first_password)


def test_a_secret_without_rotation_enabled_is_refused(login):
    token = str(uuid.uuid4())
    login.secrets.put_secret_value(
        SecretId=login.secret_arn,
        ClientRequestToken=token,
        SecretString=json.dumps({"username": login.name, "password": "x" * 40}),
        VersionStages=["AWSPENDING"],
    )

    with pytest.raises(ValueError, match="rotation is not enabled"):
        login.run(token, "setSecret")
    assert login.logs_in_with(login.first_password)


def test_the_function_verifies_the_servers_certificate_by_default(monkeypatch):
    monkeypatch.delenv("DATABASE_TLS_CA_FILE", raising=False)
    monkeypatch.setattr(rotate_database_login, "DEFAULT_CA_FILE", None)  # the system's bundle here

    context = rotate_database_login._tls()
    assert context is not None
    assert (context.verify_mode, context.check_hostname) == (rotate_database_login.ssl.CERT_REQUIRED, True)
