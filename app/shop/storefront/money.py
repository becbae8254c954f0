"""Money as the shopper reads it: formatted for the shop's locale (Babel), and shelf prices
with or without tax as the shop is configured (PRICES_INCLUDE_TAX)."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, format_percent
from flask import current_app


def format_money(cents: int, currency: str) -> str:
    return format_currency(Decimal(cents).scaleb(-2), currency, locale=current_app.config["SHOP_LOCALE"])


def shelf_price(cents: int, currency: str) -> str:
    """A product's price as the shelf shows it: with tax added when the shop shows prices with tax."""
    config = current_app.config
    if config["PRICES_INCLUDE_TAX"]:
        cents = (2 * cents * (10_000 + config["TAX_RATE_BPS"]) + 10_000) // 20_000  # rounded half up
    return format_money(cents, currency)


def tax_note() -> str:
    config = current_app.config
    if not config["PRICES_INCLUDE_TAX"]:
        return "excl. tax"
    rate = format_percent(Decimal(config["TAX_RATE_BPS"]).scaleb(-4), locale=config["SHOP_LOCALE"])
    return f"incl. {rate} tax"
