from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field, StrictInt, model_validator

from ..api import PageQuery, Schema
from .models import rating_average

# Bounds that keep every number inside a PostgreSQL integer and every price sensible.
MAX_PRICE_CENTS = 100_000_000
MAX_STOCK = 1_000_000


def _id_as_text(value: object) -> object:
    # A category is named by slug or by id; an integer id is read as its digits.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


CategoryRef = Annotated[str, BeforeValidator(_id_as_text), Field(min_length=1, max_length=80)]
Price = Annotated[StrictInt, Field(ge=0, le=MAX_PRICE_CENTS)]
Sort = Literal["relevance", "price_asc", "price_desc", "name", "newest", "rating"]


class ProductQuery(PageQuery):
    q: str = Field("", max_length=200, description="Words to search for; empty means no search")
    category: CategoryRef | None = Field(None, description="A category slug or id; an unknown one is a 422")
    min_price_cents: int | None = Field(None, ge=0, le=MAX_PRICE_CENTS)
    max_price_cents: int | None = Field(None, ge=0, le=MAX_PRICE_CENTS)
    sort: Sort | None = Field(None, description="Default: relevance when searching, else name; rating: best "
                                                "average stars first, then most rated")

    @model_validator(mode="after")
    def price_range_is_ordered(self) -> ProductQuery:
        if (self.min_price_cents is not None and self.max_price_cents is not None
                and self.min_price_cents > self.max_price_cents):
            raise ValueError("min_price_cents must not exceed max_price_cents")
        return self


class NewProduct(Schema):
    sku: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    category: CategoryRef
    price_cents: Price
    stock: Annotated[StrictInt, Field(ge=0, le=MAX_STOCK)] = 0


class ProductChange(Schema):
    """Only the fields sent change; null is refused rather than read as "unchanged"."""

    sku: str = Field(None, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(None, min_length=1, max_length=200)
    description: str = Field(None, max_length=5000)
    category: CategoryRef = None  # type: ignore[assignment]
    price_cents: Price = None  # type: ignore[assignment]


class StockLevel(Schema):
    stock: StrictInt = Field(ge=0, le=MAX_STOCK)


class StockAdjustment(Schema):
    delta: StrictInt = Field(ge=-MAX_STOCK, le=MAX_STOCK)
    reason: str = Field("", max_length=200, description="Why (a stock count, breakage, a delivery); kept with it")


class RecommendationQuery(Schema):
    limit: int = Field(6, ge=1, le=24)


class ForecastQuery(Schema):
    window_days: int = Field(90, ge=7, le=730, description="Days of sales history to fit")
    horizon_days: int = Field(14, ge=1, le=365, description="Days ahead to forecast")
    lead_time_days: int = Field(7, ge=0, le=180, description="Days a restock takes to arrive")


class CategoryOut(BaseModel):
    id: int
    slug: str
    name: str


class ProductOut(BaseModel):
    id: int
    sku: str
    name: str
    description: str
    category: CategoryOut
    price_cents: int
    currency: str
    stock: int
    in_stock: bool
    image_url: str | None = Field(None, description="The product's picture (SVG; cacheable for a year)")
    rating_average: float | None = Field(None, description="Average stars of its visible reviews; null without any")
    rating_count: int = Field(0, description="Its visible reviews")
    created_at: datetime
    updated_at: datetime


class CategoryList(BaseModel):
    items: list[CategoryOut]
    total: int
    page: int
    per_page: int


class ProductList(BaseModel):
    items: list[ProductOut]
    total: int = Field(description="Products matching in all (on PostgreSQL a search ranks and counts at "
                                   "most the first 300 matches)")
    page: int
    per_page: int
    did_you_mean: str | None = Field(description="When the search's words as typed find nothing: the words as "
                                                 "product names spell them, whose results are listed instead")


class RecommendationOut(BaseModel):
    product: ProductOut
    source: Literal["bought_together", "similar"] = Field(
        description="bought_together: from order history; similar: same category, shared words, near price")
    score: float = Field(description="bought_together: P(this | viewed); similar: similarity in [0, 1]")
    support: int = Field(description="Orders that contain both products")


class RecommendationList(BaseModel):
    product_id: int
    orders_with_product: int
    items: list[RecommendationOut]


class ForecastOut(BaseModel):
    product_id: int
    window_start: str
    window_end: str
    daily_units: list[int] = Field(description="Units sold per day over the window, oldest first")
    slope: float = Field(description="Change in daily units per day")
    intercept: float = Field(description="Fitted daily units on the window's first day")
    residual_stddev: float
    horizon_days: int
    daily_forecast: list[float]
    forecast_units: int
    lead_time_days: int
    lead_time_demand: int
    safety_stock: int
    stock: int
    restock_units: int
    explanation: str


def product_out(product) -> dict:
    """A product as the API answers it (the same dict is cached and rendered by the storefront)."""
    category = product.category
    return {
        "id": product.id, "sku": product.sku, "name": product.name, "description": product.description,
        "category": {"id": category.id, "slug": category.slug, "name": category.name},
        "price_cents": product.price_cents, "currency": product.currency, "stock": product.stock,
        "in_stock": product.stock > 0,
        "image_url": f"/images/products/{product.image.fingerprint}.svg" if product.image else None,
        "rating_average": rating_average(product.rating_sum, product.rating_count),
        "rating_count": product.rating_count,
        "created_at": product.created_at.isoformat(),
        "updated_at": product.updated_at.isoformat(),
    }
