"""/readyz is the load balancer's check and looks only at the host's own state; the shared
services are reported by /readyz/dependencies, for monitoring. Neither body tells more than which
check fails."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient

from shop import create_app
from shop.extensions import db

# Nothing listens on port 1: a connection is refused at once.
UNREACHABLE = [
    pytest.param("REDIS_URL", "redis://127.0.0.1:1/0", "cache", id="cache"),
    pytest.param("BROKER_URL", "amqp://guest:guest@127.0.0.1:1//", "broker", id="broker"),
]


@pytest.fixture
def client_with(app_config) -> Iterator[Callable[..., FlaskClient]]:
    """A client of an app built with some settings changed."""
    apps = []

    def build(**settings) -> FlaskClient:
        apps.append(create_app({**app_config, **settings}))
        return apps[-1].test_client()

    yield build
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def test_readyz_is_ready_on_a_working_host(client, backend):
    response = client.get("/readyz")
    assert response.status_code == 200
    # The embedded default's SQLite file is the host's own; PostgreSQL is shared and left out.
    expected = {"config": "ok", "database": "ok"} if backend == "sqlite" else {"config": "ok"}
    assert response.json == {"status": "ready", "checks": expected}


def test_dependencies_are_ready_when_every_service_answers(client):
    response = client.get("/readyz/dependencies")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "checks": {"database": "ok", "cache": "ok"}}


@pytest.mark.parametrize(("setting", "url", "name"), UNREACHABLE)
def test_readyz_stays_ready_when_a_shared_service_is_unreachable(client_with, setting, url, name):
    response = client_with(**{setting: url}).get("/readyz")
    assert response.status_code == 200
    assert name not in response.json["checks"]


@pytest.mark.parametrize(("setting", "url", "name"), UNREACHABLE)
def test_dependencies_name_the_unreachable_service_and_nothing_more(client_with, setting, url, name):
    response = client_with(**{setting: url}).get("/readyz/dependencies")
    assert response.status_code == 503
    assert response.json == {"status": "not ready", "checks": {"database": "ok", "cache": "ok", name: "failing"}}


def test_dependencies_log_what_failed(client_with, caplog, monkeypatch):
    # The session's migrations run Alembic's fileConfig, which disables the loggers existing then.
    monkeypatch.setattr(logging.getLogger("shop.health"), "disabled", False)
    with caplog.at_level(logging.WARNING, logger="shop.health"):
        client_with(REDIS_URL="redis://127.0.0.1:1/0").get("/readyz/dependencies")
    [record] = [r for r in caplog.records if r.name == "shop.health"]
    assert "cache" in record.getMessage()
    assert record.exc_info is not None


def test_readyz_fails_without_a_required_setting(client_with):
    response = client_with(SECRET_KEY="").get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["config"] == "failing"


def test_readyz_fails_when_the_hosts_own_database_file_cannot_be_opened(client_with, tmp_path):
    response = client_with(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/shop.db").get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "not ready", "checks": {"config": "ok", "database": "failing"}}


def test_readyz_fails_when_the_metrics_directory_is_gone(client, monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "gone"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["metrics"] == "failing"
