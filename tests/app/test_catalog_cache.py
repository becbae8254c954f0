from __future__ import annotations

import json

from prometheus_client import REGISTRY

from shop.catalog import cache


def test_invalidating_products_drops_their_pages_and_every_listing(app):
    loads = []

    def load(value):
        def loader():
            loads.append(value)
            return value

        return loader

    assert cache.product_page(1, load("page 1")) == '"page 1"'  # kept as JSON text
    assert cache.product_page(2, load("page 2")) == '"page 2"'
    assert cache.listing("products", {"page": 1}, load("listing")) == '"listing"'
    assert cache.product_page(1, load("page 1 again")) == '"page 1"'
    assert cache.listing("products", {"page": 1}, load("listing again")) == '"listing"'

    cache.invalidate_products([1])

    assert cache.product_page(1, load("page 1 new")) == '"page 1 new"'
    assert cache.product_page(2, load("page 2 new")) == '"page 2"'
    assert cache.listing("products", {"page": 1}, load("listing new")) == '"listing new"'
    assert loads == ["page 1", "page 2", "listing", "page 1 new", "listing new"]


def test_a_lost_generation_starts_a_fresh_one(app):
    from shop.extensions import cache as store

    first = cache.generation()
    store.delete(cache.GENERATION_KEY)
    assert cache.generation() != first


def counting(loads: list, value):
    def loader(*args):
        loads.append(value)
        return value

    return loader


def test_a_stock_change_refreshes_its_product_in_every_listing_without_reloading_them(app):
    loads, pages = [], {1: {"id": 1, "stock": 5}, 2: {"id": 2, "stock": 9}}

    def load_pages(ids):
        loads.append(("pages", sorted(ids)))
        return {product_id: pages[product_id] for product_id in ids}

    listing = {"items": [cache.product_reference(1), cache.product_reference(2)], "total": 2}
    first = cache.listing("products", {"page": 1}, counting(loads, listing), load_pages)
    assert json.loads(first)["items"] == [{"id": 1, "stock": 5}, {"id": 2, "stock": 9}]

    pages[1] = {"id": 1, "stock": 4}
    cache.refresh_stock([1])

    again = cache.listing("products", {"page": 1}, counting(loads, "listing reloaded"), load_pages)
    assert json.loads(again) == {"items": [{"id": 1, "stock": 4}, {"id": 2, "stock": 9}], "total": 2}
    assert loads == [listing, ("pages", [1, 2]), ("pages", [1])]


def test_a_product_selling_out_drops_the_in_stock_listings_only(app):
    loads = []

    def lists():
        return (cache.listing("products", {}, counting(loads, "products")),
                cache.listing("recommendations", {}, counting(loads, "recommendations"), by_stock=True))

    lists()
    cache.refresh_stock([1], sold_out_or_back=[])
    lists()
    cache.refresh_stock([1], sold_out_or_back=[1])
    lists()
    assert loads == ["products", "recommendations", "recommendations"]


def test_a_listing_showing_a_product_that_is_gone_is_read_again(app):
    loads = []
    listings = iter([{"items": [cache.product_reference(7)]}, {"items": []}])
    text = cache.listing("products", {}, lambda: loads.append("listing") or next(listings), lambda ids: {})
    assert json.loads(text) == {"items": []}
    assert loads == ["listing", "listing"]


def test_lookups_are_counted_as_hits_and_misses(app):
    def count(kind, result):
        return REGISTRY.get_sample_value("shop_catalog_cache_lookups_total", {"kind": kind, "result": result}) or 0

    before = {(kind, result): count(kind, result) for kind in ("products", "product") for result in ("hit", "miss")}
    for _ in range(3):
        cache.listing("products", {"page": 9}, lambda: {"items": [cache.product_reference(3)]},
                      lambda ids: {product_id: {"id": product_id} for product_id in ids})
    after = {key: count(*key) - value for key, value in before.items()}
    assert after == {("products", "miss"): 1, ("products", "hit"): 2, ("product", "miss"): 1, ("product", "hit"): 2}
