"""The catalog: categories, products, their search and stock.

Every change commits here and then invalidates the cached pages and listings it affects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, NotFound, Problem
from ..extensions import db
from ..numbers import MAX_ID, whole_number
from . import search
from .cache import invalidate_products, refresh_stock
from .models import Category, Product, StockAdjustment


@dataclass(frozen=True)
class ProductFilter:
    q: str = ""
    category: str | None = None
    min_price_cents: int | None = None
    max_price_cents: int | None = None
    sort: str | None = None
    page: int = 1
    per_page: int = 20


def _invalid(field: str, detail: str) -> Problem:
    return Problem(422, "Invalid request", f"{field}: {detail}", type_="validation-error", field=field)


def list_categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.name)))


def find_category(ref: str, field: str = "category") -> Category:
    """A category named by its id (digits) or its slug; unknown is a 422 naming `field`."""
    category_id = whole_number(ref)
    if category_id is not None:
        category = db.session.get(Category, category_id)
    else:
        category = db.session.scalar(select(Category).where(Category.slug == ref.lower()))
    if category is None:
        raise _invalid(field, f"no category {ref!r}")
    return category


def get_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id) if 0 < product_id <= MAX_ID else None
    if product is None:
        raise NotFound("Product", product_id)
    return product


def products_by_id(product_ids: list[int]) -> list[Product]:
    """These products (those that exist), in one statement."""
    return list(db.session.scalars(select(Product).where(Product.id.in_(product_ids))).unique())


# The visible reviews' average stars; a product without reviews (0) sorts after every reviewed one.
_RATING = case((Product.rating_count > 0, Product.rating_sum * 1.0 / Product.rating_count), else_=0)

_ORDERINGS: dict[str, tuple[ColumnElement[Any], ...]] = {
    "price_asc": (Product.price_cents.asc(), Product.id.asc()),
    "price_desc": (Product.price_cents.desc(), Product.id.asc()),
    "name": (Product.name.asc(), Product.id.asc()),
    "newest": (Product.created_at.desc(), Product.id.desc()),
    # Best rated first; at the same average, the one more customers rated.
    "rating": (_RATING.desc(), Product.rating_count.desc(), Product.id.asc()),
}


@dataclass(frozen=True)
class ProductPage:
    """One page of products, how many match in all, and the words searched instead of the
    customer's when theirs found nothing ("did you mean")."""

    products: list[Product]
    total: int
    did_you_mean: str | None = None


def list_products(wanted: ProductFilter, search_words: Callable[[], list[str]] = list) -> ProductPage:
    """One page of products matching the filter, and how many match in all.

    A search with no words in it (only spaces or punctuation) is treated as no search. A search
    whose words find nothing tries them as the product names spell them (`search_words()`: every
    word of every name), then by resemblance (see catalog.search).
    """
    statement = select(Product)
    if wanted.category is not None:
        statement = statement.where(Product.category_id == find_category(wanted.category).id)
    if wanted.min_price_cents is not None:
        statement = statement.where(Product.price_cents >= wanted.min_price_cents)
    if wanted.max_price_cents is not None:
        statement = statement.where(Product.price_cents <= wanted.max_price_cents)
    words = search.terms(wanted.q)
    if not words:
        offset = (wanted.page - 1) * wanted.per_page
        ordering = _ORDERINGS.get(wanted.sort or "name", _ORDERINGS["name"])
        total = db.session.scalar(statement.with_only_columns(func.count(Product.id)).order_by(None))
        rows = db.session.scalars(statement.order_by(*ordering).offset(offset).limit(wanted.per_page))
        return ProductPage(list(rows), total or 0)

    found = _search(statement, words, search.matching, wanted)
    if found.total:
        return found
    vocabulary = search_words()
    spelled = search.corrected(words, vocabulary)
    if spelled != words:
        found = _search(statement, spelled, search.matching, wanted)
        if found.total:
            return ProductPage(found.products, found.total, did_you_mean=" ".join(spelled))
    if set(spelled) <= set(vocabulary):
        # Every word is a name word, and no product has them all: resemblance would find no more.
        return found
    return _search(statement, spelled, search.similar, wanted)


def _search(statement: Select[tuple[Product]], words: list[str], matching: search.Matching,
            wanted: ProductFilter) -> ProductPage:
    statement, relevance = matching(statement, words, db.engine.dialect.name)
    ordering = _ORDERINGS.get(wanted.sort or "relevance", (relevance.desc(), Product.id.asc()))
    # The matches are ranked as ids, and only the page's products are read whole (with their category
    # and image): ranking already visits every match, so the total rides along instead of a second search.
    page = (
        statement.with_only_columns(Product.id, relevance.label("relevance"), func.count().over().label("total"))
        .order_by(*ordering)
        .offset(search.inline((wanted.page - 1) * wanted.per_page))
        .limit(search.inline(wanted.per_page))
        .subquery("page")
    )
    in_order = _ORDERINGS.get(wanted.sort or "relevance", (page.c.relevance.desc(), Product.id.asc()))
    rows = db.session.execute(
        select(Product, page.c.total).join(page, page.c.id == Product.id).order_by(*in_order)
    ).all()
    if rows:
        return ProductPage([row[0] for row in rows], rows[0].total)
    if wanted.page == 1:
        return ProductPage([], 0)
    total = db.session.scalar(statement.with_only_columns(func.count(Product.id)).order_by(None))
    return ProductPage([], total or 0)


def search_words() -> list[str]:
    """Every word of every product name, for spelling a search as the names do: on PostgreSQL
    kept in `search_words` by a trigger, on SQLite (a small catalog) cut from the names."""
    if db.engine.dialect.name == "postgresql":
        return list(db.session.scalars(select(search.search_words.c.word)))
    return search.name_words(db.session.scalars(select(Product.name)))


def _apply(product: Product, changes: dict[str, Any]) -> None:
    if "category" in changes:
        product.category = find_category(changes.pop("category"))
    for name, value in changes.items():
        setattr(product, name, value)


def _commit_product(product: Product) -> None:
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(f"Another product already has SKU {product.sku}.", field="sku") from None


def _check_sku_free(sku: str, product_id: int | None = None) -> None:
    taken_by = db.session.scalar(select(Product.id).where(Product.sku == sku))
    if taken_by is not None and taken_by != product_id:
        raise Conflict(f"Product {taken_by} already has SKU {sku}.", field="sku")


def create_product(fields: dict[str, Any], currency: str) -> Product:
    _check_sku_free(fields["sku"])
    product = Product(currency=currency)
    _apply(product, dict(fields))
    db.session.add(product)
    _commit_product(product)
    invalidate_products([product.id])
    return product


def update_product(product_id: int, changes: dict[str, Any]) -> Product:
    product = get_product(product_id)
    if "sku" in changes:
        _check_sku_free(changes["sku"], product.id)
    _apply(product, dict(changes))
    _commit_product(product)
    invalidate_products([product.id])
    return product


def set_stock(product_id: int, stock: int) -> Product:
    product = get_product(product_id)
    before, product.stock = product.stock, stock
    db.session.commit()
    refresh_stock([product.id], [product.id] if (before == 0) != (stock == 0) else [])
    return product


def adjust_stock(product_id: int, delta: int, max_stock: int, reason: str = "", staff_id: int | None = None
                 ) -> Product:
    """Add `delta` (negative to take away) in one statement, so concurrent adjustments add up; the
    adjustment is recorded, with its reason, in the same transaction."""
    product = get_product(product_id)
    stock_after = db.session.execute(
        update(Product)
        .where(Product.id == product.id, Product.stock + delta >= 0, Product.stock + delta <= max_stock)
        .values(stock=Product.stock + delta)
        .returning(Product.stock)
        .execution_options(synchronize_session=False)
    ).scalar()
    if stock_after is not None:
        db.session.add(StockAdjustment(product_id=product.id, delta=delta, stock_after=stock_after,
                                       reason=reason or "adjusted", staff_id=staff_id))
    db.session.commit()
    db.session.refresh(product)
    if stock_after is None:
        raise Conflict(f"Stock of product {product.id} is {product.stock}; it cannot change by {delta}.",
                       field="delta", stock=product.stock)
    refresh_stock([product.id], [product.id] if (product.stock == 0) != (product.stock - delta == 0) else [])
    return product


def stock_adjustments(product_id: int, limit: int = 20) -> list[StockAdjustment]:
    """The product's latest stock adjustments, newest first."""
    return list(db.session.scalars(select(StockAdjustment).where(StockAdjustment.product_id == product_id)
                                   .order_by(StockAdjustment.at.desc(), StockAdjustment.id.desc()).limit(limit)))
