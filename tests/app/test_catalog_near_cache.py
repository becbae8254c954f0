"""The near cache in front of Redis: two app instances stand in for two gunicorn workers.

Nothing here sleeps: a test waits for the listener's subscription and for an announcement to be
applied (each signalled by the near cache), and expiry is driven by a clock the test moves.
"""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from shop import create_app
from shop.catalog.near_cache import NearCache
from shop.extensions import db

from .factories import auth_headers, make_product, make_user


@pytest.fixture(params=["postgresql"])
def backend(request) -> str:
    """The near cache sits in front of Redis, which only the PostgreSQL run configures."""
    return request.param


@pytest.fixture
def workers(app_config):
    apps = [create_app({**app_config, "CATALOG_NEAR_CACHE_SECONDS": 30.0}) for _ in range(2)]
    for worker in apps:
        assert worker.extensions["near_cache"].wait_until_listening(5.0)
    yield apps
    for worker in apps:
        worker.extensions["near_cache"].close()
        with worker.app_context():
            db.engine.dispose()


def stock_seen(worker, product_id: int) -> int:
    return worker.test_client().get(f"/api/v1/products/{product_id}").json["stock"]


def listing_lookups(result: str) -> float:
    return REGISTRY.get_sample_value("shop_catalog_cache_lookups_total", {"kind": "products", "result": result}) or 0


def test_a_change_in_one_worker_reaches_the_other_at_once(app, workers):
    product_id = make_product(stock=7).id
    staff = auth_headers(make_user(role="staff"))
    first, second = workers
    assert stock_seen(first, product_id) == 7
    assert stock_seen(second, product_id) == 7
    near = second.extensions["near_cache"]
    assert near.get(f"catalog:product:{product_id}") is not None
    epoch = near.epoch

    response = first.test_client().put(f"/api/v1/products/{product_id}/stock", json={"stock": 3}, headers=staff)
    assert response.status_code == 200
    assert stock_seen(first, product_id) == 3
    assert near.wait_for_drop(epoch, timeout=2.0)
    assert stock_seen(second, product_id) == 3


def test_listings_are_dropped_on_a_change_of_details(app, workers):
    product_id = make_product(name="Solar Lantern", stock=5).id
    staff = auth_headers(make_user(role="staff"))
    first, second = workers
    listing = "/api/v1/products?q=lantern"
    for worker in workers:
        assert worker.test_client().get(listing).json["items"][0]["stock"] == 5
    near = second.extensions["near_cache"]
    epoch = near.epoch
    first.test_client().patch(f"/api/v1/products/{product_id}", json={"name": "Solar Lantern XL"}, headers=staff)
    assert near.wait_for_drop(epoch, timeout=2.0)
    assert second.test_client().get(listing).json["items"][0]["name"] == "Solar Lantern XL"


def test_a_stock_change_shows_in_the_other_workers_listing_which_stays_cached(app, workers):
    product_id = make_product(name="Solar Lantern", stock=5).id
    staff = auth_headers(make_user(role="staff"))
    first, second = workers
    listing = "/api/v1/products?q=lantern"
    assert second.test_client().get(listing).json["items"][0]["stock"] == 5
    misses = listing_lookups("miss")
    near = second.extensions["near_cache"]
    epoch = near.epoch

    response = first.test_client().put(f"/api/v1/products/{product_id}/stock", json={"stock": 3}, headers=staff)
    assert response.status_code == 200
    assert near.wait_for_drop(epoch, timeout=2.0)
    assert second.test_client().get(listing).json["items"][0]["stock"] == 3
    assert listing_lookups("miss") == misses


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_expires_after_its_time_to_live(app, redis_url):
    clock = Clock()
    near = NearCache(redis_url, ttl_seconds=5.0, timeout_seconds=1.0, clock=clock)
    try:
        assert near.wait_until_listening(5.0)
        near.put("catalog:product:1", "{}", near.epoch)
        clock.now += 4.9
        assert near.get("catalog:product:1") == "{}"
        clock.now += 0.2
        assert near.get("catalog:product:1") is None
    finally:
        near.close()
