from __future__ import annotations

from pydantic import BaseModel, Field, StrictInt

from ..api import Id, Schema
from .pricing import Adjustment, QuoteLine


class NewItem(Schema):
    product_id: Id
    quantity: StrictInt = Field(1, ge=1, le=999)


class QuantityChange(Schema):
    quantity: StrictInt = Field(ge=1, le=999)


class CouponCode(Schema):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")


class CouponOut(BaseModel):
    code: str
    applied: bool
    reason: str | None


class QuoteOut(BaseModel):
    """A priced cart: each line and total, and where each discount came from."""

    currency: str
    # The pricing engine's own dataclasses: the API shows exactly what the engine computed.
    lines: list[QuoteLine]
    subtotal_cents: int
    discounts: list[Adjustment]
    discount_cents: int
    shipping_cents: int
    tax_cents: int
    tax_rate_bps: int
    total_cents: int
    coupon: CouponOut | None


class CartOut(QuoteOut):
    id: str
    version: int
    customer_id: int | None
