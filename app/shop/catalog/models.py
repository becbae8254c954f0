from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..columns import UtcDateTime, utcnow
from ..extensions import BaseModel


class Category(BaseModel):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))


class Product(BaseModel):
    """A product; `stock` is what can still be sold (reservations already taken off).

    Full-text search lives beside the table: a generated tsvector column with a GIN index on
    PostgreSQL, an FTS5 table kept in step by triggers on SQLite (see the migrations).
    """

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        Index("ix_products_category_price", "category_id", "price_cents"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    price_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    stock: Mapped[int] = mapped_column(default=0)
    # The visible reviews' star count and their stars added up (reviews/service.py keeps both, under
    # the product's row lock); the average shown is their quotient.
    rating_count: Mapped[int] = mapped_column(default=0, server_default="0")
    rating_sum: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    category: Mapped[Category] = relationship(lazy="joined")
    image: Mapped[ProductImage | None] = relationship(lazy="joined", viewonly=True)


def rating_average(rating_sum: int, rating_count: int) -> float | None:
    """The stars of the visible reviews on average, to two decimals; None without a review."""
    return round(rating_sum / rating_count, 2) if rating_count else None


class StockAdjustment(BaseModel):
    """A change of a product's stock made by staff, and why (a stock count, breakage, a delivery)."""

    __tablename__ = "stock_adjustments"
    __table_args__ = (Index("ix_stock_adjustments_product_at", "product_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    delta: Mapped[int]
    stock_after: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ProductImage(BaseModel):
    """A product's picture (see catalog/images.py), found by the fingerprint its URL carries."""

    __tablename__ = "product_images"

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    # Products drawn alike share a fingerprint (and the same bytes).
    fingerprint: Mapped[str] = mapped_column(String(16), index=True)
    svg: Mapped[str] = mapped_column(Text)
