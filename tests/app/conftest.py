"""Fixtures for the shop's tests.

Every test that takes `app` runs twice: on the embedded default (SQLite file, in-process cache)
and on PostgreSQL + Redis at their standard local addresses (override with TEST_POSTGRES_URL and
TEST_REDIS_URL). Each test gets an isolated database: a fresh copy of a migrated SQLite file, or
the migrated PostgreSQL test database emptied after the test.
"""

from __future__ import annotations

import contextvars
import os
import shutil
import threading
from collections.abc import Iterator

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.serving import make_server

from shop import create_app
from shop.config import TestConfig
from shop.extensions import db
from shop.limits import limiter

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/shopstack_test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BACKENDS = ["sqlite", "postgresql"]


def _unreachable(what: str, url: str, error: Exception) -> None:
    pytest.fail(
        f"{what} at {url} is not reachable ({error}). `make test` starts it; or set "
        f"TEST_POSTGRES_URL / TEST_REDIS_URL to a running one.",
        pytrace=False,
    )


def _migrate(config: dict) -> None:
    app = create_app(config)
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("template") / "shop.db"
    _migrate({**_base_config(), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    return str(path)


@pytest.fixture(scope="session")
def postgres_database() -> str:
    url = sa.engine.make_url(POSTGRES_URL)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    except sa.exc.OperationalError as error:
        _unreachable("PostgreSQL", POSTGRES_URL, error)
    finally:
        admin.dispose()
    _migrate({**_base_config(), "SQLALCHEMY_DATABASE_URI": POSTGRES_URL})
    return POSTGRES_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        with redis.Redis.from_url(REDIS_URL) as client:
            client.ping()
    except redis.RedisError as error:
        _unreachable("Redis", REDIS_URL, error)
    return REDIS_URL


def _base_config() -> dict:
    return {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def app_config(backend, request, tmp_path) -> dict:
    config = _base_config()
    if backend == "sqlite":
        path = tmp_path / "shop.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    else:
        config["SQLALCHEMY_DATABASE_URI"] = request.getfixturevalue("postgres_database")
        config["REDIS_URL"] = request.getfixturevalue("redis_url")
        # Room for the concurrency tests' parallel requests.
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 30, "max_overflow": 30, "pool_pre_ping": True}
    return config


class RequestScopedClient(FlaskClient):
    """A test client whose every request runs as in production: in its own app context, so with its
    own database session, removed at the request's end. The test's own context (factories, reads)
    stays apart, as another process's would."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def app(app_config, backend) -> Iterator[Flask]:
    app = create_app(app_config)
    app.test_client_class = RequestScopedClient
    limiter.reset()  # every test starts with no rate-limit counters (memory, or Redis on postgresql)
    if backend == "postgresql":
        with redis.Redis.from_url(app_config["REDIS_URL"]) as client:
            client.flushdb()
    with app.app_context():
        yield app
        db.session.remove()
        if backend == "postgresql":
            _empty_postgres_database()
        db.engine.dispose()


def _empty_postgres_database() -> None:
    """Leave the PostgreSQL test database as migrated: delete the rows of the tables the test wrote
    to (children first) and restart the sequences it used. DELETE, because TRUNCATE replaces each
    table's files and waits on the disk: 0.5-1.5 s per test on a busy machine, against ~30 ms."""
    tables = db.metadata.sorted_tables
    probe = " UNION ALL ".join(
        f'SELECT {index} WHERE EXISTS (SELECT 1 FROM "{table.name}")' for index, table in enumerate(tables)
    )
    with db.engine.begin() as connection:
        written = {index for (index,) in connection.execute(sa.text(probe))}
        for index in sorted(written, reverse=True):
            connection.execute(sa.text(f'DELETE FROM "{tables[index].name}"'))
        # Kept by a trigger on products, outside the models (migration 0008).
        connection.execute(sa.text("DELETE FROM search_words"))
        connection.execute(
            sa.text(
                "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false) "
                "FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL"
            )
        )


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app behind a real threaded HTTP server, for tests that need truly concurrent requests."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # Request threads are joined at close: none may outlive the test (and touch the next one's data).
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
