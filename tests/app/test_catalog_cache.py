from __future__ import annotations

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
