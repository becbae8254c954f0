"""The pricing engine, as pure functions: every amount in integer cents, every discount explained."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from shop.cart.pricing import CouponRule, PricedItem, PricingPolicy, PromotionRule, price

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POLICY = PricingPolicy("EUR", tax_rate_bps=2000, shipping_flat_cents=499)


def item(product_id=1, unit=1000, quantity=1, category_id=10, name="Thing") -> PricedItem:
    return PricedItem(product_id, name, category_id, unit, quantity)


def test_plain_cart_adds_shipping_and_tax():
    quote = price([item(unit=1250, quantity=2)], [], None, POLICY, NOW)
    assert quote.subtotal_cents == 2500
    assert quote.shipping_cents == 499
    assert quote.tax_cents == 600  # 20 % of 2999 = 599.8, rounded half up
    assert quote.total_cents == 2500 + 499 + 600
    assert quote.discounts == []


def test_empty_cart_costs_nothing():
    quote = price([], [], None, POLICY, NOW)
    assert (quote.subtotal_cents, quote.shipping_cents, quote.tax_cents, quote.total_cents) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("rule", "expected_discount"),
    [
        (PromotionRule(1, "10% off", "percent", percent=10), 300),
        (PromotionRule(1, "2 off each", "fixed", amount_cents=200), 600),
        (PromotionRule(1, "too generous", "fixed", amount_cents=5000), 3000),
        (PromotionRule(1, "buy 2 get 1", "buy_x_get_y", buy_quantity=2, free_quantity=1), 1000),
        (PromotionRule(1, "other category", "percent", category_id=99, percent=50), 0),
        (PromotionRule(1, "this category", "percent", category_id=10, percent=50), 1500),
        (PromotionRule(1, "this product", "percent", product_id=1, percent=25), 750),
    ],
)
def test_line_promotions(rule, expected_discount):
    quote = price([item(quantity=3)], [rule], None, POLICY, NOW)
    assert quote.lines[0].discount_cents == expected_discount
    assert quote.discount_cents == expected_discount
    assert quote.lines[0].total_cents == 3000 - expected_discount


def test_buy_x_get_y_counts_only_complete_groups():
    rule = PromotionRule(1, "buy 2 get 1", "buy_x_get_y", buy_quantity=2, free_quantity=1)
    assert price([item(quantity=5)], [rule], None, POLICY, NOW).discount_cents == 1000
    assert price([item(quantity=6)], [rule], None, POLICY, NOW).discount_cents == 2000


def test_promotions_do_not_stack_the_best_one_wins():
    rules = [PromotionRule(1, "10%", "percent", percent=10), PromotionRule(2, "25%", "percent", percent=25)]
    quote = price([item(quantity=2)], rules, None, POLICY, NOW)
    assert quote.lines[0].discounts[0].name == "25%"
    assert quote.discount_cents == 500


def test_free_shipping_over_threshold_is_explained():
    rule = PromotionRule(1, "Free shipping over 50", "free_shipping", threshold_cents=5000)
    below = price([item(unit=4999)], [rule], None, POLICY, NOW)
    at = price([item(unit=5000)], [rule], None, POLICY, NOW)
    assert below.shipping_cents == 499
    assert at.shipping_cents == 0
    assert at.discounts[-1].source == "shipping"
    assert at.discounts[-1].amount_cents == 499


@pytest.mark.parametrize(
    ("coupon", "applied", "discount"),
    [
        (CouponRule("TEN", "percent", percent=10), True, 300),
        (CouponRule("FIVE", "fixed", amount_cents=500), True, 500),
        (CouponRule("BIG", "fixed", amount_cents=10_000), True, 3000),
        (CouponRule("MIN", "percent", percent=10, min_subtotal_cents=5000), False, 0),
        (CouponRule("LATE", "percent", percent=10, starts_at=NOW + timedelta(days=1)), False, 0),
        (CouponRule("OLD", "percent", percent=10, ends_at=NOW), False, 0),
        (CouponRule("USED", "percent", percent=10, usage_limit=5, times_used=5), False, 0),
    ],
)
def test_coupons(coupon, applied, discount):
    quote = price([item(quantity=3)], [], coupon, POLICY, NOW)
    assert quote.coupon["applied"] is applied
    assert quote.discount_cents == discount
    if not applied:
        assert coupon.code in quote.coupon["reason"]


def test_coupon_applies_after_line_promotions_and_tax_after_discounts():
    promo = PromotionRule(1, "10%", "percent", percent=10)
    quote = price([item(quantity=3)], [promo], CouponRule("FIVE", "fixed", amount_cents=500), POLICY, NOW)
    assert quote.discount_cents == 300 + 500
    assert quote.tax_cents == 540  # 20 % of 2699 = 539.8, rounded half up
    assert quote.total_cents == 2200 + 499 + 540


def test_free_shipping_coupon():
    quote = price([item()], [], CouponRule("SHIP", "free_shipping"), POLICY, NOW)
    assert quote.shipping_cents == 0
    assert quote.discounts[-1].name == "coupon SHIP"


def test_totals_are_always_consistent():
    rules = [
        PromotionRule(1, "7%", "percent", percent=7),
        PromotionRule(2, "ship", "free_shipping", threshold_cents=9000),
    ]
    items = [item(product_id=n, unit=333 * n + 1, quantity=n) for n in range(1, 8)]
    quote = price(items, rules, CouponRule("X", "percent", percent=13), POLICY, NOW)
    assert quote.subtotal_cents - quote.discount_cents + quote.shipping_cents + quote.tax_cents == quote.total_cents
    assert all(isinstance(value, int) for value in (quote.total_cents, quote.tax_cents, quote.discount_cents))


def test_a_quote_renders_every_field_it_holds():
    rules = [PromotionRule(1, "10% off", "percent", percent=10),
             PromotionRule(2, "free shipping", "free_shipping", threshold_cents=0)]
    coupon = CouponRule("SAVE5", "fixed", amount_cents=500)
    quote = price([item(quantity=2), item(product_id=2, unit=700)], rules, coupon, POLICY, NOW)
    assert quote.to_dict() == dataclasses.asdict(quote)
