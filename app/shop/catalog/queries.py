"""The catalog's cached reads: the API answers with their JSON text as it is, and the
storefront's pages render them, so both show the same thing from the same cache entry."""

from __future__ import annotations

import json

from ..api import page_of
from . import cache, service
from .recommendations import recommend
from .schemas import ProductQuery, product_out


def product_page_json(product_id: int) -> str:
    return cache.product_page(product_id, lambda: product_out(service.get_product(product_id)))


def product_page(product_id: int) -> dict:
    return json.loads(product_page_json(product_id))


def category_listing() -> list[dict]:
    return json.loads(cache.listing("categories", {}, lambda: [
        {"id": category.id, "slug": category.slug, "name": category.name}
        for category in service.list_categories()
    ]))


def search_words() -> list[str]:
    return json.loads(cache.search_words(service.search_words))


def _pages_of(product_ids: list[int]) -> dict[int, dict]:
    return {product.id: product_out(product) for product in service.products_by_id(product_ids)}


def product_listing_json(query: ProductQuery) -> str:
    def load() -> dict:
        found = service.list_products(service.ProductFilter(**query.model_dump()), search_words)
        cache.keep_product_pages({product.id: product_out(product) for product in found.products})
        return {**page_of([cache.product_reference(product.id) for product in found.products], found.total, query),
                "did_you_mean": found.did_you_mean}

    return cache.listing("products", query.model_dump(), load, _pages_of)


def product_listing(query: ProductQuery) -> dict:
    return json.loads(product_listing_json(query))


def recommendations_json(product_id: int, limit: int) -> str:
    def load() -> dict:
        baskets, items = recommend(service.get_product(product_id), limit)
        cache.keep_product_pages({item.product.id: product_out(item.product) for item in items})
        return {"product_id": product_id, "orders_with_product": baskets, "items": [
            {"product": cache.product_reference(item.product.id), "source": item.source, "score": float(item.score),
             "support": item.support}
            for item in items]}

    return cache.listing("recommendations", {"product_id": product_id, "limit": limit}, load, _pages_of,
                         by_stock=True)


def recommendations_for(product_id: int, limit: int) -> dict:
    return json.loads(recommendations_json(product_id, limit))
