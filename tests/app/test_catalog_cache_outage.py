"""Redis down: the catalog is read from the database, changes still commit, and the outage is
counted and logged (but not once per request). Redis is a real URL where nothing listens, or a
redis-server of the test's own that it stops."""

from __future__ import annotations

import logging
import socket
import subprocess
import threading
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from shop import create_app
from shop.catalog import cache_outage
from shop.extensions import db
from shop.models import Product

from .factories import ADDRESS, auth_headers, make_cart, make_category, make_product, make_user


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A redis-server of the test's own, on its own port, that the test may stop and start again."""

    def __init__(self, port: int):
        self.url = f"redis://127.0.0.1:{port}/0"
        self._command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                         "--appendonly", "no"]
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(self._command, stdout=subprocess.PIPE, text=True)
        for _ in range(200):  # redis-server prints a few dozen lines before it is ready
            line = self._process.stdout.readline()
            if not line or "Ready to accept connections" in line:
                break
        assert self._process.poll() is None, "redis-server did not start"

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process.stdout.close()
            self._process = None


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    yield server
    server.stop()


def shop_on(app_config: dict, redis_url: str, near_cache_seconds: float = 0.0):
    return create_app({**app_config, "REDIS_URL": redis_url, "CATALOG_NEAR_CACHE_SECONDS": near_cache_seconds})


@pytest.fixture
def shops() -> Iterator[list]:
    """Apps a test creates; their near caches are stopped and their connections closed after it."""
    created: list = []
    yield created
    for shop in created:
        if near := shop.extensions.get("near_cache"):
            near.close()
        with shop.app_context():
            db.engine.dispose()


@pytest.fixture
def redis_down(app, app_config, shops):
    """The shop, near cache on, with Redis configured at a port where nothing listens."""
    shop = shop_on(app_config, f"redis://127.0.0.1:{free_port()}/0", near_cache_seconds=30.0)
    shops.append(shop)
    return shop


def cache_errors(operation: str) -> float:
    return REGISTRY.get_sample_value("shop_cache_errors_total", {"operation": operation}) or 0.0


def set_stock(shop, product_id: int, stock: int):
    return shop.test_client().put(f"/api/v1/products/{product_id}/stock", json={"stock": stock},
                                  headers=auth_headers(make_user(role="staff")))


CATALOG_READS = [
    ("/api/v1/products/{id}", "Solar Lantern Stand"),
    ("/api/v1/products", "Solar Lantern Stand"),
    ("/api/v1/products?q=lantern", "Solar Lantern Stand"),
    ("/api/v1/categories", "Lamps"),
    ("/api/v1/products/{id}/recommendations", '"name":"Solar Lantern"'),
    ("/", "Solar Lantern Stand"),
    ("/products", "Solar Lantern Stand"),
    ("/products?q=lantern", "Solar Lantern Stand"),
    ("/products/{id}", "Solar Lantern Stand"),
]


@pytest.mark.parametrize(("path", "shown"), CATALOG_READS)
def test_catalog_reads_are_served_from_the_database_when_redis_is_down(redis_down, path, shown):
    lamps = make_category("Lamps")
    make_product(lamps, name="Solar Lantern")
    stand = make_product(lamps, name="Solar Lantern Stand")  # recommends the lantern (same category)
    response = redis_down.test_client().get(path.format(id=stand.id))
    assert response.status_code == 200
    assert shown in response.get_data(as_text=True)


def test_a_read_that_cannot_reach_redis_is_counted(redis_down):
    product = make_product()
    before = cache_errors("read")
    assert redis_down.test_client().get(f"/api/v1/products/{product.id}").status_code == 200
    assert cache_errors("read") == before + 1


def test_a_stock_change_commits_when_redis_is_down(redis_down):
    product = make_product(stock=7)
    before = cache_errors("invalidate")
    response = set_stock(redis_down, product.id, 3)
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Product, product.id).stock == 3
    assert cache_errors("invalidate") > before


def test_a_checkout_takes_stock_when_redis_is_down(redis_down):
    customer, product = make_user(), make_product(stock=5)
    cart_id = make_cart(customer, (product, 2)).id
    response = redis_down.test_client().post("/api/v1/orders", json={"cart_id": cart_id, "shipping_address": ADDRESS},
                                             headers=auth_headers(customer))
    assert response.status_code == 201, response.json
    db.session.expire_all()
    assert db.session.get(Product, product.id).stock == 3


def test_the_dependency_check_still_names_the_cache_when_redis_is_down(redis_down):
    response = redis_down.test_client().get("/readyz/dependencies")
    assert response.status_code == 503
    assert response.json["checks"]["cache"] == "failing"


def test_redis_lost_during_use_serves_the_database_and_changes_still_commit(app, app_config, own_redis, shops):
    shop = shop_on(app_config, own_redis.url)
    shops.append(shop)
    product = make_product(stock=7)
    page = f"/api/v1/products/{product.id}"
    assert shop.test_client().get(page).json["stock"] == 7  # now cached in Redis
    own_redis.stop()
    assert set_stock(shop, product.id, 3).status_code == 200
    assert shop.test_client().get(page).json["stock"] == 3


def test_the_near_cache_drops_a_change_of_its_own_when_redis_is_lost(app, app_config, own_redis, shops):
    shop = shop_on(app_config, own_redis.url, near_cache_seconds=30.0)
    shops.append(shop)
    near = shop.extensions["near_cache"]
    near.get("nothing")  # starts the listener
    assert near._listening.wait(timeout=10)
    product = make_product(stock=7)
    page = f"/api/v1/products/{product.id}"
    assert shop.test_client().get(page).json["stock"] == 7
    assert near.get(f"catalog:product:{product.id}") is not None
    own_redis.stop()
    assert set_stock(shop, product.id, 3).status_code == 200
    assert shop.test_client().get(page).json["stock"] == 3


def test_the_near_cache_starts_listening_once_redis_comes_up(app, app_config, shops):
    late_redis = RedisServer(free_port())
    shop = shop_on(app_config, late_redis.url, near_cache_seconds=30.0)
    shops.append(shop)
    near = shop.extensions["near_cache"]
    page = f"/api/v1/products/{make_product(stock=7).id}"
    assert shop.test_client().get(page).status_code == 200  # starts the listener, which finds no Redis
    assert not near._listening.is_set()
    late_redis.start()
    try:
        assert near._listening.wait(timeout=10)
        assert shop.test_client().get(page).json["stock"] == 7
        assert near.get(page.replace("/api/v1/products/", "catalog:product:")) is not None
    finally:
        late_redis.stop()


@pytest.fixture
def silent_redis() -> Iterator[str]:
    """A Redis URL whose port takes connections but never answers (a hung or black-holed server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


def test_a_redis_that_never_answers_costs_a_read_only_its_timeout(app, app_config, shops, silent_redis):
    shop = create_app({**app_config, "REDIS_URL": silent_redis, "CACHE_SOCKET_TIMEOUT_SECONDS": 0.2,
                       "CATALOG_NEAR_CACHE_SECONDS": 0.0})
    shops.append(shop)
    page = f"/api/v1/products/{make_product(name='Solar Lantern').id}"
    answers: list = []
    reader = threading.Thread(target=lambda: answers.append(shop.test_client().get(page)), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "the read waited on Redis for more than 10 s"
    assert answers[0].status_code == 200
    assert answers[0].json["name"] == "Solar Lantern"


@pytest.fixture
def outage_clock(monkeypatch) -> list[float]:
    """A fresh outage log whose clock the test moves by hand."""
    now = [1000.0]
    monkeypatch.setattr(cache_outage, "outage_log", cache_outage.OutageLog(60.0, clock=lambda: now[0]))
    return now


def outage_warnings(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records
            if record.name == cache_outage.__name__ and record.levelno == logging.WARNING]


def test_an_outage_is_logged_once_per_interval_not_once_per_request(app, app_config, shops, outage_clock, caplog):
    shop = shop_on(app_config, f"redis://127.0.0.1:{free_port()}/0")
    shops.append(shop)
    product = make_product()
    for _ in range(5):
        assert shop.test_client().get(f"/api/v1/products/{product.id}").status_code == 200
    assert len(outage_warnings(caplog)) == 1


def test_the_next_warning_after_the_interval_counts_the_errors_held_back(outage_clock, caplog):
    error = ConnectionError("refused")
    for _ in range(4):
        cache_outage.outage_log.record("read", error)
    outage_clock[0] += 59.0
    cache_outage.outage_log.record("read", error)
    assert len(outage_warnings(caplog)) == 1
    outage_clock[0] += 1.0
    cache_outage.outage_log.record("write", error)
    warnings = outage_warnings(caplog)
    assert len(warnings) == 2
    assert "4 more since the last warning" in warnings[1].getMessage()
