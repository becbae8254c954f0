"""The pricing engine: pure functions over integer minor units (cents), no I/O.

Every amount in the quote says where it came from, so the cart and the order can explain
each line and each total to the customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class PricedItem:
    product_id: int
    name: str
    category_id: int
    unit_price_cents: int
    quantity: int


@dataclass(frozen=True)
class PromotionRule:
    id: int
    name: str
    kind: str  # percent | fixed | buy_x_get_y | free_shipping
    product_id: int | None = None
    category_id: int | None = None
    percent: int | None = None
    amount_cents: int | None = None
    buy_quantity: int | None = None
    free_quantity: int | None = None
    threshold_cents: int | None = None

    def matches(self, item: PricedItem) -> bool:
        if self.product_id is not None:
            return self.product_id == item.product_id
        if self.category_id is not None:
            return self.category_id == item.category_id
        return True


@dataclass(frozen=True)
class CouponRule:
    code: str
    kind: str  # percent | fixed | free_shipping
    percent: int | None = None
    amount_cents: int | None = None
    min_subtotal_cents: int = 0
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: int | None = None
    times_used: int = 0

    def refusal(self, merchandise_cents: int, now: datetime) -> str | None:
        """Why the coupon does not apply right now, or None when it does."""
        if self.starts_at and now < self.starts_at:
            return f"coupon {self.code} is not valid before {self.starts_at.isoformat()}"
        if self.ends_at and now >= self.ends_at:
            return f"coupon {self.code} expired at {self.ends_at.isoformat()}"
        if self.usage_limit is not None and self.times_used >= self.usage_limit:
            return f"coupon {self.code} has been used up"
        if merchandise_cents < self.min_subtotal_cents:
            return f"coupon {self.code} needs a subtotal of at least {self.min_subtotal_cents} cents"
        return None


@dataclass(frozen=True)
class PricingPolicy:
    currency: str
    tax_rate_bps: int
    shipping_flat_cents: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PricingPolicy:
        return cls(config["SHOP_CURRENCY"], config["TAX_RATE_BPS"], config["SHIPPING_FLAT_CENTS"])


@dataclass
class Adjustment:
    source: str  # promotion | coupon | shipping
    name: str
    amount_cents: int

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "name": self.name, "amount_cents": self.amount_cents}


@dataclass
class QuoteLine:
    product_id: int
    name: str
    unit_price_cents: int
    quantity: int
    subtotal_cents: int
    discount_cents: int
    total_cents: int
    discounts: list[Adjustment] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"product_id": self.product_id, "name": self.name, "unit_price_cents": self.unit_price_cents,
                "quantity": self.quantity, "subtotal_cents": self.subtotal_cents,
                "discount_cents": self.discount_cents, "total_cents": self.total_cents,
                "discounts": [adjustment.to_dict() for adjustment in self.discounts]}


@dataclass
class Quote:
    currency: str
    lines: list[QuoteLine]
    subtotal_cents: int
    discounts: list[Adjustment]
    discount_cents: int
    shipping_cents: int
    tax_cents: int
    tax_rate_bps: int
    total_cents: int
    coupon: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        # Written out rather than dataclasses.asdict, which deep-copies every value: every cart
        # answer and every order renders one.
        return {"currency": self.currency, "lines": [line.to_dict() for line in self.lines],
                "subtotal_cents": self.subtotal_cents, "discounts": [adj.to_dict() for adj in self.discounts],
                "discount_cents": self.discount_cents, "shipping_cents": self.shipping_cents,
                "tax_cents": self.tax_cents, "tax_rate_bps": self.tax_rate_bps, "total_cents": self.total_cents,
                "coupon": dict(self.coupon) if self.coupon is not None else None}


def _line_discount(rule: PromotionRule, item: PricedItem) -> int:
    gross = item.unit_price_cents * item.quantity
    if rule.kind == "percent" and rule.percent:
        return gross * rule.percent // 100
    if rule.kind == "fixed" and rule.amount_cents:
        return min(rule.amount_cents * item.quantity, gross)
    if rule.kind == "buy_x_get_y" and rule.buy_quantity and rule.free_quantity:
        free_units = item.quantity // (rule.buy_quantity + rule.free_quantity) * rule.free_quantity
        return free_units * item.unit_price_cents
    return 0


def _price_line(item: PricedItem, promotions: list[PromotionRule]) -> QuoteLine:
    subtotal = item.unit_price_cents * item.quantity
    # Promotions do not stack on one line: the customer gets the best one.
    best: tuple[int, PromotionRule] | None = None
    for rule in promotions:
        if rule.kind != "free_shipping" and rule.matches(item):
            amount = _line_discount(rule, item)
            if amount > 0 and (best is None or amount > best[0]):
                best = (amount, rule)
    discounts = [Adjustment("promotion", best[1].name, best[0])] if best else []
    discount = best[0] if best else 0
    return QuoteLine(item.product_id, item.name, item.unit_price_cents, item.quantity, subtotal,
                     discount, subtotal - discount, discounts)


def _round_half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def price(items: list[PricedItem], promotions: list[PromotionRule], coupon: CouponRule | None,
          policy: PricingPolicy, now: datetime) -> Quote:
    lines = [_price_line(item, promotions) for item in items]
    subtotal = sum(line.subtotal_cents for line in lines)
    merchandise = sum(line.total_cents for line in lines)
    discounts = [adj for line in lines for adj in line.discounts]

    coupon_info = None
    free_shipping_by = None
    if coupon is not None:
        refusal = coupon.refusal(merchandise, now)
        coupon_info = {"code": coupon.code, "applied": refusal is None, "reason": refusal}
        if refusal is None:
            if coupon.kind == "percent" and coupon.percent:
                amount = merchandise * coupon.percent // 100
            elif coupon.kind == "fixed" and coupon.amount_cents:
                amount = min(coupon.amount_cents, merchandise)
            else:
                amount = 0
                free_shipping_by = f"coupon {coupon.code}"
            if amount:
                discounts.append(Adjustment("coupon", coupon.code, amount))
                merchandise -= amount

    for rule in promotions:
        if rule.kind == "free_shipping" and merchandise >= (rule.threshold_cents or 0):
            free_shipping_by = free_shipping_by or rule.name
    shipping = 0 if not lines else policy.shipping_flat_cents
    if shipping and free_shipping_by:
        discounts.append(Adjustment("shipping", free_shipping_by, shipping))
        shipping = 0

    discount_total = subtotal - merchandise
    tax = _round_half_up((merchandise + shipping) * policy.tax_rate_bps, 10_000)
    return Quote(policy.currency, lines, subtotal, discounts, discount_total, shipping, tax,
                 policy.tax_rate_bps, merchandise + shipping + tax, coupon_info)
