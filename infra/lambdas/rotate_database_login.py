"""Rotates the shop's database login: Secrets Manager's four rotation steps for one PostgreSQL role
that changes its own password (the single-user strategy of AWS's rotation templates).

Secrets Manager calls the function with ``{"SecretId", "ClientRequestToken", "Step"}`` once per step,
the token naming the version being rotated in, which it has already labelled ``AWSPENDING``:

- ``createSecret`` stores a new password in that version (unless it already holds one);
- ``setSecret`` logs in with the current password and sets the pending one on the role (nothing to
  do when the pending one already logs in);
- ``testSecret`` logs in with the pending password;
- ``finishSecret`` moves ``AWSCURRENT`` to the pending version.

Each step may run again after a failure or a retry and leaves the same state. The secret holds
``username`` and ``password`` only; where the database is comes from the function's environment
(``DATABASE_HOST``, ``DATABASE_PORT``, ``DATABASE_NAME``). ``DATABASE_TLS_CA_FILE`` is the
certificate bundle the server's certificate is checked against (``off`` connects without TLS,
which RDS with ``rds.force_ssl`` refuses). boto3 and this module are all it needs besides pg8000.
"""

from __future__ import annotations

import json
import logging
import os
import ssl
from typing import Any

import boto3
import pg8000.native  # type: ignore[import-untyped]

CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"
# The Lambda runtime's certificate bundle, the one AWS's own rotation templates check RDS against.
DEFAULT_CA_FILE = "/etc/pki/tls/cert.pem"
# The new password's shape: the stack's first password has the same (no punctuation, so it needs no
# quoting in a connection URL).
PASSWORD_LENGTH = 40

log = logging.getLogger()
log.setLevel(logging.INFO)


def handler(event: dict[str, str], context: object = None) -> None:
    secret_id, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    client = boto3.client("secretsmanager")
    if _already_current(client, secret_id, token):
        log.info("%s: version %s is already current, nothing to do for %s", secret_id, token, step)
        return
    steps = {
        "createSecret": create_secret,
        "setSecret": set_secret,
        "testSecret": test_secret,
        "finishSecret": finish_secret,
    }
    if step not in steps:
        raise ValueError(f"unknown rotation step {step!r}")
    steps[step](client, secret_id, token)


def _already_current(client: Any, secret_id: str, token: str) -> bool:
    """Whether the version is current already; refuses a secret not set up for this rotation."""
    metadata = client.describe_secret(SecretId=secret_id)
    if not metadata.get("RotationEnabled", False):
        raise ValueError(f"rotation is not enabled for {secret_id}")
    stages = metadata.get("VersionIdsToStages", {})
    if token not in stages:
        raise ValueError(f"version {token} of {secret_id} is not being rotated")
    if CURRENT in stages[token]:
        return True
    if PENDING not in stages[token]:
        raise ValueError(f"version {token} of {secret_id} is not labelled {PENDING}")
    return False


def create_secret(client: Any, secret_id: str, token: str) -> None:
    current = _login(client, secret_id, CURRENT)
    if current is None:
        raise ValueError(f"{secret_id} has no {CURRENT} version to rotate from")
    if _login(client, secret_id, PENDING, token) is not None:
        log.info("createSecret: version %s already holds a password", token)
        return
    password = client.get_random_password(PasswordLength=PASSWORD_LENGTH, ExcludePunctuation=True)["RandomPassword"]
    client.put_secret_value(
        SecretId=secret_id,
        ClientRequestToken=token,
        SecretString=json.dumps({**current, "password": password}),
        VersionStages=[PENDING],
    )
    log.info("createSecret: stored a new password in version %s", token)


def set_secret(client: Any, secret_id: str, token: str) -> None:
    pending = _login(client, secret_id, PENDING, token)
    if pending is None:
        raise ValueError(f"version {token} of {secret_id} holds no password: createSecret has not run")
    already = _connect(pending)
    if already is not None:
        already.close()
        log.info("setSecret: the pending password already logs in")
        return
    # The role changes its own password, logged in with the one it has now: the current one, or the
    # previous one when an earlier rotation stopped after setting it.
    for stage in (CURRENT, PREVIOUS):
        login = _login(client, secret_id, stage)
        if login is None or login["username"] != pending["username"]:
            continue
        connection = _connect(login)
        if connection is None:
            continue
        try:
            role, password = connection.run(
                "SELECT quote_ident(:role), quote_literal(:password)",
                role=pending["username"],
                password=pending["password"],
            )[0]
            # ALTER ROLE takes no bind parameters: the values are quoted by the server above.
            connection.run(f"ALTER ROLE {role} WITH PASSWORD {password}")
        finally:
            connection.close()
        log.info("setSecret: set the pending password, logged in with %s", stage)
        return
    raise ValueError(f"neither {CURRENT} nor {PREVIOUS} of {secret_id} logs in: cannot set the new password")


def test_secret(client: Any, secret_id: str, token: str) -> None:
    pending = _login(client, secret_id, PENDING, token)
    connection = _connect(pending) if pending is not None else None
    if connection is None:
        raise ValueError(f"the pending password of {secret_id} does not log in")
    try:
        connection.run("SELECT 1")
    finally:
        connection.close()
    log.info("testSecret: the pending password logs in")


def finish_secret(client: Any, secret_id: str, token: str) -> None:
    stages = client.describe_secret(SecretId=secret_id)["VersionIdsToStages"]
    current = next(version for version, labels in stages.items() if CURRENT in labels)
    client.update_secret_version_stage(
        SecretId=secret_id, VersionStage=CURRENT, MoveToVersionId=token, RemoveFromVersionId=current
    )
    log.info("finishSecret: version %s is current (was %s)", token, current)


def _login(client: Any, secret_id: str, stage: str, token: str | None = None) -> dict[str, str] | None:
    version = {"VersionId": token} if token else {}
    try:
        answer = client.get_secret_value(SecretId=secret_id, VersionStage=stage, **version)
    except client.exceptions.ResourceNotFoundException:
        return None
    value: dict[str, str] = json.loads(answer["SecretString"])
    if not value.get("username") or not value.get("password"):
        raise ValueError(f"the {stage} version of {secret_id} lacks a username or password")
    return value


def _connect(login: dict[str, str]) -> pg8000.native.Connection | None:
    """A connection as ``login``, or None when the server refuses its password."""
    try:
        return pg8000.native.Connection(
            user=login["username"],
            password=login["password"],
            host=os.environ["DATABASE_HOST"],
            port=int(os.environ.get("DATABASE_PORT", "5432")),
            database=os.environ["DATABASE_NAME"],
            ssl_context=_tls(),
            timeout=10,
        )
    except pg8000.native.DatabaseError as error:
        # invalid_password, invalid_authorization_specification
        if error.args and isinstance(error.args[0], dict) and error.args[0].get("C") in {"28P01", "28000"}:
            return None
        raise


def _tls() -> ssl.SSLContext | None:
    ca_file = os.environ.get("DATABASE_TLS_CA_FILE", DEFAULT_CA_FILE)
    if ca_file == "off":
        return None
    return ssl.create_default_context(cafile=ca_file)
