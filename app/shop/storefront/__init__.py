"""The shop's pages, one module per shop module as the API is (catalog, cart, accounts, checkout,
orders, reviews, the public parcel tracking, and support). They call the modules' services, never
another module's views."""

from __future__ import annotations

from flask import Blueprint


def blueprints() -> tuple[Blueprint, ...]:
    from . import accounts, cart, catalog, checkout, orders, reviews, support, tracking

    return catalog.bp, cart.bp, accounts.bp, checkout.bp, orders.bp, reviews.bp, tracking.bp, support.bp
