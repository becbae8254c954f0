"""The near cache in front of Redis: two app instances stand in for two gunicorn workers."""

from __future__ import annotations

import time

import pytest
from prometheus_client import REGISTRY

from shop import create_app
from shop.extensions import db

from .factories import auth_headers, make_product, make_user


@pytest.fixture(params=["postgresql"])
def backend(request) -> str:
    """The near cache sits in front of Redis, which only the PostgreSQL run configures."""
    return request.param


@pytest.fixture
def workers(app_config):
    apps = [create_app({**app_config, "CATALOG_NEAR_CACHE_SECONDS": 30.0}) for _ in range(2)]
    yield apps
    for worker in apps:
        worker.extensions["near_cache"].close()
        with worker.app_context():
            db.engine.dispose()


def stock_seen(worker, product_id: int) -> int:
    return worker.test_client().get(f"/api/v1/products/{product_id}").json["stock"]


def listening(worker) -> bool:
    near = worker.extensions["near_cache"]
    near.get("nothing")  # starts the listener
    return near._listening.is_set()


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_a_change_in_one_worker_reaches_the_other_at_once(app, workers):
    product_id = make_product(stock=7).id
    staff = auth_headers(make_user(role="staff"))
    first, second = workers
    assert wait_for(lambda: listening(first) and listening(second))
    assert stock_seen(first, product_id) == 7
    assert stock_seen(second, product_id) == 7
    near = second.extensions["near_cache"]
    assert near.get(f"catalog:product:{product_id}") is not None

    response = first.test_client().put(f"/api/v1/products/{product_id}/stock", json={"stock": 3}, headers=staff)
    assert response.status_code == 200
    assert stock_seen(first, product_id) == 3
    assert wait_for(lambda: stock_seen(second, product_id) == 3, seconds=2.0)


def test_listings_are_dropped_on_any_change(app, workers):
    product_id = make_product(name="Solar Lantern", stock=5).id
    staff = auth_headers(make_user(role="staff"))
    first, second = workers
    listing = "/api/v1/products?q=lantern"
    for worker in workers:
        assert wait_for(lambda worker=worker: listening(worker))
        assert worker.test_client().get(listing).json["items"][0]["stock"] == 5
    first.test_client().patch(f"/api/v1/products/{product_id}", json={"name": "Solar Lantern XL"}, headers=staff)
    assert wait_for(lambda: second.test_client().get(listing).json["items"][0]["name"] == "Solar Lantern XL",
                    seconds=2.0)


def listing_lookups(result: str) -> float:
    return REGISTRY.get_sample_value("shop_catalog_cache_lookups_total", {"kind": "products", "result": result}) or 0


def test_a_stock_change_shows_in_the_other_workers_listing_which_stays_cached(app, workers):
    product_id = make_product(name="Solar Lantern", stock=5).id
    staff = auth_headers(make_user(role="staff"))
    first, second = workers
    listing = "/api/v1/products?q=lantern"
    assert wait_for(lambda: listening(first) and listening(second))
    assert second.test_client().get(listing).json["items"][0]["stock"] == 5
    misses = listing_lookups("miss")

    response = first.test_client().put(f"/api/v1/products/{product_id}/stock", json={"stock": 3}, headers=staff)
    assert response.status_code == 200
    assert wait_for(lambda: second.test_client().get(listing).json["items"][0]["stock"] == 3, seconds=2.0)
    assert listing_lookups("miss") == misses
