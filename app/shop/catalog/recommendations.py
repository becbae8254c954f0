""""Customers also bought": products bought together with this one, else similar products.

Bought together scores a product B seen beside product A by P(B | A): the share of orders that
contain A which also contain B. Its support is how many orders contain both. A pair seen in fewer
than MIN_SUPPORT orders is chance, not a pattern, so a product with little history is filled up
with similar products instead: same category, words in common, a price nearby.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select

from ..extensions import db
from ..orders.models import Order, OrderLine
from .models import Product

# Orders in these states never sold anything, so they say nothing about taste.
UNSOLD_STATUSES = ("cancelled",)
# Fewest orders a pair must share to count as bought together.
MIN_SUPPORT = 2
# How many nearest-priced products of the category are weighed as similar.
SIMILAR_CANDIDATES = 200
# Weights of the similarity score (they add up to 1): words in common, then closeness of price.
WORDS_WEIGHT = 0.7
PRICE_WEIGHT = 0.3
# Words too common in product texts to say anything about likeness.
STOP_WORDS = frozenset({"a", "an", "and", "the", "of", "for", "to", "in", "is", "it", "its", "with",
                        "by", "from", "on", "or", "as", "at"})

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Recommendation:
    product: Product
    source: str  # bought_together | similar
    score: float
    support: int


def _words(product: Product) -> set[str]:
    return set(_WORD.findall(f"{product.name} {product.description}".lower())) - STOP_WORDS


def similarity(product: Product, other: Product) -> float:
    mine, theirs = _words(product), _words(other)
    shared = len(mine & theirs) / len(mine | theirs) if mine | theirs else 0.0
    dearer = max(product.price_cents, other.price_cents)
    closeness = 1 - abs(product.price_cents - other.price_cents) / dearer if dearer else 1.0
    return round(WORDS_WEIGHT * shared + PRICE_WEIGHT * closeness, 4)


def orders_with(product_id: int):
    return (select(OrderLine.order_id).join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.product_id == product_id, Order.status.not_in(UNSOLD_STATUSES)))


def bought_together(product: Product, limit: int) -> tuple[int, list[Recommendation]]:
    """How many orders hold the product, and the in-stock products most often bought with it."""
    baskets = orders_with(product.id).subquery()
    orders_with_product = select(func.count()).select_from(baskets).scalar_subquery()
    pairs = (
        select(OrderLine.product_id, func.count().label("support"))
        .where(OrderLine.order_id.in_(select(baskets.c.order_id)), OrderLine.product_id != product.id)
        .group_by(OrderLine.product_id)
        .having(func.count() >= MIN_SUPPORT)
        .subquery()
    )
    rows = db.session.execute(
        select(Product, pairs.c.support, orders_with_product.label("baskets"))
        .join(pairs, pairs.c.product_id == Product.id)
        .where(Product.stock > 0)
        .order_by(pairs.c.support.desc(), Product.id)
        .limit(limit)
    ).all()
    if not rows:
        return db.session.scalar(select(func.count()).select_from(baskets)) or 0, []
    baskets_count = rows[0].baskets
    return baskets_count, [Recommendation(row[0], "bought_together", round(row.support / baskets_count, 4),
                                          row.support) for row in rows]


def similar(product: Product, limit: int, excluded: set[int]) -> list[Recommendation]:
    candidates = db.session.scalars(
        select(Product)
        .where(Product.category_id == product.category_id, Product.stock > 0,
               Product.id.not_in(excluded | {product.id}))
        .order_by(func.abs(Product.price_cents - product.price_cents), Product.id)
        .limit(SIMILAR_CANDIDATES)
    )
    scored = sorted(((similarity(product, other), other) for other in candidates),
                    key=lambda pair: (-pair[0], pair[1].id))
    return [Recommendation(other, "similar", score, 0) for score, other in scored[:limit]]


def recommend(product: Product, limit: int) -> tuple[int, list[Recommendation]]:
    """Up to `limit` in-stock products to show beside `product`, bought together first."""
    baskets, items = bought_together(product, limit)
    if len(items) < limit:
        items += similar(product, limit - len(items), {item.product.id for item in items})
    return baskets, items
