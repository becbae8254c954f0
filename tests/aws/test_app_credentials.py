"""app_credentials' endpoint against the emulator's STS: botocore, given nothing but the endpoint's
address and token (as the shop's containers are), reads the database login's secret with the
credentials of the shop's role; without the token it gets nothing.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests

from tests.app.own_services import answering, free_port, wait_until

from .conftest import CREDENTIALS, REGION, ROLES, reset

PROGRAM = ROLES / "app_credentials" / "files" / "usr" / "local" / "libexec" / "shop-credentials"
TOKEN = uuid.uuid4().hex + uuid.uuid4().hex
ROLE_ARN = "arn:aws:iam::123456789012:role/shop-test-app-role"


@pytest.fixture(scope="module")
def endpoint(endpoint_url):
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environment.update(CREDENTIALS, AWS_DEFAULT_REGION=REGION, AWS_ENDPOINT_URL_STS=endpoint_url,
                       AWS_EC2_METADATA_DISABLED="true", SHOP_CREDENTIALS_ROLE_ARN=ROLE_ARN,
                       SHOP_CREDENTIALS_TOKEN=TOKEN, SHOP_CREDENTIALS_PORT=str(port))
    process = subprocess.Popen([sys.executable, str(PROGRAM)], env=environment)
    try:
        wait_until(lambda: answering(port), "the credential endpoint to listen", timeout=30)
        yield f"http://127.0.0.1:{port}/credentials"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def as_the_container(endpoint, endpoint_url, monkeypatch):
    """The environment the shop's containers have on AWS: no keys of their own, no metadata service."""
    for key in [key for key in os.environ if key.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoint)
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", TOKEN)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint_url)


def test_the_container_reads_the_database_login_with_the_shops_role(endpoint_url, as_the_container):
    reset(endpoint_url)
    setup = boto3.session.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    setup.client("secretsmanager", endpoint_url=endpoint_url).create_secret(
        Name="shopstack/test/database-login", SecretString='{"username": "shop_app", "password": "p"}')

    session = boto3.session.Session()
    secret = session.client("secretsmanager").get_secret_value(SecretId="shopstack/test/database-login")

    assert secret["SecretString"] == '{"username": "shop_app", "password": "p"}'
    assert session.get_credentials().method == "container-role"


def test_the_endpoint_refuses_a_caller_without_the_token(endpoint):
    assert requests.get(endpoint, timeout=5).status_code == 401


def test_the_endpoint_refuses_a_wrong_token(endpoint):
    assert requests.get(endpoint, headers={"Authorization": "x" * 64}, timeout=5).status_code == 401


def test_the_endpoint_answers_the_shape_botocore_reads(endpoint):
    answer = requests.get(endpoint, headers={"Authorization": TOKEN}, timeout=5).json()
    assert set(answer) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}


def _program():
    loader = importlib.machinery.SourceFileLoader("shop_credentials", str(PROGRAM))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("shop_credentials", loader))
    loader.exec_module(module)
    return module


class CountingSts:
    def __init__(self, now: datetime) -> None:
        self.now, self.calls = now, 0

    def assume_role(self, **request):
        self.calls += 1
        expiration = self.now + timedelta(seconds=request["DurationSeconds"])
        return {"Credentials": {"AccessKeyId": f"ASIA{self.calls}", "SecretAccessKey": "s", "SessionToken": "t",
                                "Expiration": expiration}}


def test_credentials_are_renewed_once_they_come_within_the_renewal_margin():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    sts = CountingSts(start)
    now = [start.timestamp()]
    credentials = _program().RoleCredentials(ROLE_ARN, 3600, 1200, sts=sts, clock=lambda: now[0])
    first = credentials.current()["AccessKeyId"]
    now[0] += 3600 - 1201
    assert credentials.current()["AccessKeyId"] == first
    now[0] += 1
    assert credentials.current()["AccessKeyId"] != first
