"""Storefront catalog pages: home, product listing and search, product page.

They render the same cached reads the catalog API answers; only the page frame (who is logged
in, the cart) is per visitor, and that is never cached.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request, session, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ..accounts.auth import current_user
from ..api import parse
from ..cart.models import CartLine
from ..catalog.schemas import ProductQuery
from ..catalog.views import category_listing, product_listing, product_page, recommendations_for
from ..errors import Problem
from ..extensions import db

bp = Blueprint("storefront", __name__)

# Products shown on the home page, newest first.
FEATURED_COUNT = 8
# Recommendations shown on a product page.
RECOMMENDATION_COUNT = 4
SORTS = [("", "Best match / name"), ("price_asc", "Price: low to high"), ("price_desc", "Price: high to low"),
         ("name", "Name"), ("newest", "Newest")]


@bp.app_context_processor
def page_frame() -> dict:
    """Who is shopping and how full their cart is, for the nav bar of every page."""
    cart_id = session.get("cart_id")
    try:
        shopper = current_user()
        count = db.session.scalar(select(func.sum(CartLine.quantity))
                                  .where(CartLine.cart_id == cart_id)) if cart_id else None
    except (Problem, SQLAlchemyError):
        # The error page renders this frame too: it must not fail when the login or database does.
        db.session.rollback()
        return {"cart_count": None, "shopper": None}
    return {"cart_count": count, "shopper": shopper}


@bp.get("/")
def index():
    featured = product_listing(ProductQuery(sort="newest", per_page=FEATURED_COUNT))
    return render_template("index.html", categories=category_listing(), featured=featured["items"])


@bp.get("/products")
def products():
    # Empty form fields mean "any", not an invalid value.
    args = {key: value for key, value in request.args.items() if value.strip()}
    query = parse(ProductQuery, args, "query")
    listing = product_listing(query)

    def page_url(page: int) -> str:
        return url_for("storefront.products", **{**args, "page": page})

    last_page = max(1, -(-listing["total"] // query.per_page))
    return render_template("catalog/products.html", query=query, listing=listing, last_page=last_page,
                           page_url=page_url, categories=category_listing(), sorts=SORTS)


@bp.get("/products/<int:product_id>")
def product(product_id: int):
    return render_template("catalog/product.html", product=product_page(product_id),
                           recommendations=recommendations_for(product_id, RECOMMENDATION_COUNT))
