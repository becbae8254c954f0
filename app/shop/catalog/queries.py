"""The catalog's cached reads: the API answers with their JSON text as it is, and the
storefront's pages render them, so both show the same thing from the same cache entry."""

from __future__ import annotations

import json

from ..api import page_of
from . import cache, service
from .recommendations import recommend
from .schemas import ProductQuery, RecommendationOut, product_out


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


def product_listing_json(query: ProductQuery) -> str:
    def load() -> dict:
        found = service.list_products(service.ProductFilter(**query.model_dump()), search_words)
        return {**page_of([product_out(product) for product in found.products], found.total, query),
                "did_you_mean": found.did_you_mean}

    return cache.listing("products", query.model_dump(), load)


def product_listing(query: ProductQuery) -> dict:
    return json.loads(product_listing_json(query))


def recommendations_json(product_id: int, limit: int) -> str:
    def load() -> dict:
        baskets, items = recommend(service.get_product(product_id), limit)
        return {"product_id": product_id, "orders_with_product": baskets, "items": [
            RecommendationOut(product=product_out(item.product), source=item.source, score=item.score,
                              support=item.support).model_dump(mode="json")
            for item in items]}

    return cache.listing("recommendations", {"product_id": product_id, "limit": limit}, load)


def recommendations_for(product_id: int, limit: int) -> dict:
    return json.loads(recommendations_json(product_id, limit))
