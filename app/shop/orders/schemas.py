from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from ..api import PageQuery, Schema
from ..cart.schemas import QuoteOut
from .states import STAFF_TARGETS, STATES


class ShippingAddress(Schema):
    name: str = Field(min_length=1, max_length=120)
    line1: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postal_code: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9 -]+$")
    country: str = Field(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$",
                         description="ISO 3166-1 alpha-2 code, e.g. FR")


class NewOrder(Schema):
    cart_id: str = Field(min_length=1, max_length=32)
    shipping_address: ShippingAddress


class OrderQuery(PageQuery):
    status: Literal[STATES] | None = None  # type: ignore[valid-type]


class StaffTransition(Schema):
    status: Literal[STAFF_TARGETS]  # type: ignore[valid-type]
    cause: str = Field(min_length=1, max_length=200)


class Refund(Schema):
    cause: str = Field("refunded by staff", min_length=1, max_length=200)


class OrderLineOut(BaseModel):
    product_id: int
    name: str
    unit_price_cents: int
    quantity: int
    discount_cents: int
    total_cents: int


class TransitionOut(BaseModel):
    from_status: str | None
    to_status: str
    cause: str
    at: datetime


class PaymentOut(BaseModel):
    id: int
    status: str
    amount_cents: int
    currency: str
    gateway: str
    gateway_reference: str | None
    card_last4: str
    failure_reason: str | None
    created_at: datetime


class PricingOut(QuoteOut):
    """The quote the order was placed at."""


class AddressOut(BaseModel):
    name: str
    line1: str
    city: str
    postal_code: str
    country: str


class OrderOut(BaseModel):
    id: int
    customer_id: int
    status: str
    currency: str
    lines: list[OrderLineOut]
    subtotal_cents: int
    discount_cents: int
    shipping_cents: int
    tax_cents: int
    total_cents: int
    coupon_code: str | None
    pricing: PricingOut
    shipping_address: AddressOut
    reserved_until: datetime | None
    created_at: datetime
    transitions: list[TransitionOut]
    payments: list[PaymentOut]


class OrderSummaryOut(BaseModel):
    id: int
    customer_id: int
    status: str
    currency: str
    total_cents: int
    created_at: datetime
    reserved_until: datetime | None


class OrderPage(BaseModel):
    items: list[OrderSummaryOut]
    total: int
    page: int
    per_page: int
