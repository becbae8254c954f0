"""The smoke test's purchase journey against the real shop, served over HTTP on the embedded default."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask_migrate import upgrade
from werkzeug.serving import make_server

from pipelines import smoke
from pipelines.runner import StepFailed
from shop import create_app
from shop.config import TestConfig
from shop.extensions import db
from shop.seed import seed_demo


def _serve(tmp_path_factory, **settings) -> Iterator[str]:
    config = {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}
    database = tmp_path_factory.mktemp("smoke") / "shop.db"
    app = create_app({**config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "SHOP_RELEASE": "r1",
                      **settings})
    with app.app_context():
        upgrade()
        seed_demo(products_per_category=6, orders=0, progress=lambda _: None)
        db.engine.dispose()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def shop_url(tmp_path_factory) -> Iterator[str]:
    yield from _serve(tmp_path_factory)


@pytest.fixture(scope="module")
def unsellable_shop_url(tmp_path_factory) -> Iterator[str]:
    """The release tests/hosts/rollout/unsellable.Dockerfile builds: healthy, but no line may hold a unit."""
    yield from _serve(tmp_path_factory, MAX_LINE_QUANTITY=0)


def test_the_purchase_journey_ends_with_a_paid_order(shop_url):
    summary = smoke.purchase(shop_url, "r1")
    assert "register -> log in -> browse -> new cart -> add to cart -> check out -> pay -> see the order" in summary


def test_the_journey_fails_on_another_release(shop_url):
    with pytest.raises(StepFailed, match="serves release r1, not r2"):
        smoke.purchase(shop_url, "r2")


def test_the_journey_fails_where_the_shop_does_not_answer():
    with pytest.raises(StepFailed, match="liveness: GET /healthz failed"):
        smoke.purchase("http://127.0.0.1:9", None)


def test_a_release_that_cannot_sell_fails_the_journey(unsellable_shop_url):
    with pytest.raises(StepFailed, match="add to cart: POST /api/v1/carts/.*/items answered 4"):
        smoke.purchase(unsellable_shop_url, "r1")
