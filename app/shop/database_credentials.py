"""The database user and password, read from AWS Secrets Manager whenever a connection is opened.

A password copied into the environment at deploy time fails every new connection after the first
rotation. With ``DATABASE_SECRET_ARN`` set, each new connection takes ``username`` and ``password``
from the secret's current version instead. The secret is kept for ``DATABASE_SECRET_MAX_AGE_SECONDS``
so a busy pool does not call Secrets Manager per connection; a connection the server refuses for its
credentials reads the secret again and retries, and then tries the version being rotated in
(``AWSPENDING``): a rotation sets the new password in PostgreSQL before it makes that version
current. Connections already open are not affected by a rotation (PostgreSQL checks a password only
when a session starts).

boto3 finds the region, the credentials and any endpoint the usual way (``AWS_REGION``,
``AWS_ENDPOINT_URL_SECRETS_MANAGER``, the credential chain).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

# SQLSTATEs PostgreSQL answers a refused login with: invalid_password, invalid_authorization_specification.
AUTHENTICATION_FAILED = frozenset({"28P01", "28000"})
CURRENT, PENDING = "AWSCURRENT", "AWSPENDING"


@dataclass(frozen=True)
class Login:
    username: str
    password: str


def _secretsmanager_client() -> Any:
    import boto3  # only processes configured with a secret need it

    return boto3.session.Session().client("secretsmanager")


class SecretLogin:
    """The login kept in one Secrets Manager secret (RDS's JSON shape: ``username``, ``password``)."""

    def __init__(self, secret_id: str, max_age_seconds: float,
                 client_factory: Callable[[], Any] = _secretsmanager_client,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.secret_id = secret_id
        self.max_age_seconds = max_age_seconds
        self._client_factory = client_factory
        self._client: Any = None
        self._clock = clock
        self._lock = threading.Lock()
        self._current: Login | None = None
        self._read_at = 0.0

    def _read(self, stage: str) -> Login | None:
        if self._client is None:
            self._client = self._client_factory()
        try:
            answer = self._client.get_secret_value(SecretId=self.secret_id, VersionStage=stage)
        except self._client.exceptions.ResourceNotFoundException:
            if stage == CURRENT:
                raise
            return None  # no rotation under way
        value = json.loads(answer["SecretString"])
        return Login(value["username"], value["password"])

    def current(self, *, fresh: bool = False) -> Login:
        with self._lock:
            if fresh or self._current is None or self._clock() - self._read_at >= self.max_age_seconds:
                self._current = self._read(CURRENT)
                self._read_at = self._clock()
            assert self._current is not None
            return self._current

    def pending(self) -> Login | None:
        with self._lock:
            return self._read(PENDING)

    def candidates(self) -> Iterator[Login]:
        """Logins to try, in order, each only if it differs from those already tried."""
        tried: list[Login] = []
        for read in (self.current, lambda: self.current(fresh=True), self.pending):
            login = read()
            if login is not None and login not in tried:
                tried.append(login)
                yield login


def refused_login(error: BaseException) -> bool:
    """Whether the server refused the login (and not, say, the network the connection)."""
    if getattr(error, "sqlstate", None) in AUTHENTICATION_FAILED:
        return True
    # libpq keeps the SQLSTATE of a failed login to itself; it does say a password was asked for and sent.
    pgconn = getattr(error, "pgconn", None)
    return bool(getattr(pgconn, "used_password", False))


def connect_with_secret(engine: Engine, login: SecretLogin) -> None:
    """Open each of ``engine``'s new connections with the login ``login`` holds now."""

    @event.listens_for(engine, "do_connect")
    def connect(dialect, _record, cargs, cparams):
        refusal: BaseException | None = None
        for candidate in login.candidates():
            cparams.update(user=candidate.username, password=candidate.password)
            try:
                return dialect.connect(*cargs, **cparams)
            except dialect.loaded_dbapi.OperationalError as error:
                if not refused_login(error):
                    raise
                refusal = error
        assert refusal is not None
        raise refusal
