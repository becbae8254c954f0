"""The shop's database login survives a rotation: a PostgreSQL cluster of the test's own that checks
passwords (the shared one on 5432 trusts every local login, so a wrong password would pass there),
the login in a Secrets Manager secret on the emulator, and the app's engine opening new connections
after the password changed in both.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from shop import create_app
from shop.config import TestConfig
from shop.database_credentials import SecretLogin
from shop.extensions import db
from tests.app.own_services import PostgresCluster

from .conftest import admin, emulated_secrets_manager


class Role:
    """A login role of the shop's, with a password set in PostgreSQL and in its secret."""

    def __init__(self, cluster: PostgresCluster, secrets, name: str) -> None:
        self.cluster, self.secrets, self.name = cluster, secrets, name
        self.password = uuid.uuid4().hex
        with admin(cluster) as superuser:
            superuser.execute(f'CREATE ROLE "{name}" LOGIN PASSWORD \'{self.password}\'')
        self.secret_arn = secrets.create_secret(Name=f"shopstack/test/{name}", SecretString=self._secret())["ARN"]

    def _secret(self, password: str | None = None) -> str:
        return json.dumps({"username": self.name, "password": password or self.password})

    def set_password_in_database(self, password: str) -> None:
        with admin(self.cluster) as superuser:
            superuser.execute(f'ALTER ROLE "{self.name}" PASSWORD \'{password}\'')

    def rotate(self) -> str:
        """What a single-user rotation ends with: the new password in PostgreSQL and current in the secret."""
        password = uuid.uuid4().hex
        self.set_password_in_database(password)
        self.secrets.put_secret_value(SecretId=self.secret_arn, SecretString=self._secret(password))
        return password

    def drop(self) -> None:
        with admin(self.cluster) as superuser:
            superuser.execute(f'DROP ROLE IF EXISTS "{self.name}"')


@pytest.fixture
def secrets(endpoint_url, monkeypatch):
    client = emulated_secrets_manager(monkeypatch, endpoint_url)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return client


@pytest.fixture
def role(cluster, secrets) -> Iterator[Role]:
    role = Role(cluster, secrets, f"shop_app_{uuid.uuid4().hex[:10]}")
    yield role
    role.drop()


def _database_url(cluster: PostgresCluster) -> str:
    # No user, no password: both come from the secret.
    return f"postgresql+psycopg://127.0.0.1:{cluster.port}/postgres"


@pytest.fixture
def app(cluster, role):
    config = type("SecretLoginConfig", (TestConfig,), {
        "SQLALCHEMY_DATABASE_URI": _database_url(cluster),
        "DATABASE_SECRET_ARN": role.secret_arn,
        "DATABASE_SECRET_MAX_AGE_SECONDS": 300,
    })
    app = create_app(config)
    yield app
    with app.app_context():
        db.engine.dispose()


def _login_of_a_new_connection(app) -> str:
    with app.app_context(), db.engine.connect() as connection:
        return connection.execute(text("SELECT current_user")).scalar_one()


def _close_pooled_connections(app) -> None:
    with app.app_context():
        db.engine.dispose()


def test_the_app_logs_in_with_the_secret(app, role):
    assert _login_of_a_new_connection(app) == role.name


def test_new_connections_log_in_after_the_password_rotates(app, role):
    _login_of_a_new_connection(app)  # the secret's first version is now kept for five minutes
    role.rotate()
    _close_pooled_connections(app)

    assert _login_of_a_new_connection(app) == role.name


def test_a_password_frozen_into_the_url_fails_after_the_rotation(cluster, role):
    frozen = create_engine(f"postgresql+psycopg://{role.name}:{role.password}@127.0.0.1:{cluster.port}/postgres")
    role.rotate()
    try:
        with pytest.raises(OperationalError, match="password authentication failed"):
            frozen.connect()
    finally:
        frozen.dispose()


def test_a_rotation_half_done_logs_in_with_the_pending_version(app, role, secrets):
    """A rotation function sets the new password in PostgreSQL (as AWSPENDING) before it makes that
    version current: a connection opened in between tries the pending one."""
    _login_of_a_new_connection(app)
    pending = uuid.uuid4().hex
    secrets.put_secret_value(SecretId=role.secret_arn, SecretString=role._secret(pending),
                             VersionStages=["AWSPENDING"])
    role.set_password_in_database(pending)
    _close_pooled_connections(app)

    assert _login_of_a_new_connection(app) == role.name


def test_a_connection_already_open_outlives_the_rotation(app, role):
    with app.app_context(), db.engine.connect() as connection:
        role.rotate()
        assert connection.execute(text("SELECT current_user")).scalar_one() == role.name


def test_the_secret_is_read_again_once_it_is_older_than_its_max_age(role):
    now = [0.0]
    login = SecretLogin(role.secret_arn, max_age_seconds=60, client_factory=lambda: role.secrets,
                        clock=lambda: now[0])
    login.current()
    new_password = role.rotate()
    now[0] = 59.0
    assert login.current().password == role.password
    now[0] = 60.0
    assert login.current().password == new_password
