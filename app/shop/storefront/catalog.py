"""Storefront catalog pages: home, product listing and search, product page.

They render the same cached reads the catalog API answers; only the page frame (who is logged
in, the cart) is per visitor, and that is never cached.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for

from ..api import parse
from ..catalog.queries import category_listing, product_listing, product_page, recommendations_for
from ..catalog.schemas import ProductQuery
from .session import page_frame, page_globals

bp = Blueprint("storefront", __name__)
# Every page's frame (the nav bar, the forms' CSRF token), whichever module renders it.
bp.app_context_processor(page_frame)
bp.app_context_processor(page_globals)

# Products shown on the home page, newest first.
FEATURED_COUNT = 8
# Recommendations shown on a product page.
RECOMMENDATION_COUNT = 4
SORTS = [("", "Best match / name"), ("price_asc", "Price: low to high"), ("price_desc", "Price: high to low"),
         ("name", "Name"), ("newest", "Newest")]


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
