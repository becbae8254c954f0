"""Storefront catalog pages: home, product listing and search, product page.

They render the same cached reads the catalog API answers; only the page frame (who is logged
in, the cart) is per visitor, and that is never cached.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request, url_for

from ..accounts.auth import current_user
from ..api import parse
from ..cart import service as carts
from ..catalog.images import image_by_fingerprint
from ..catalog.queries import category_listing, product_listing, product_page, recommendations_for
from ..catalog.schemas import MAX_PRICE_CENTS, ProductQuery
from ..errors import Problem
from ..reviews import service as reviews
from .forms import cents_from_units
from .money import format_money, shelf_price, tax_note
from .session import page_frame, page_globals

bp = Blueprint("storefront", __name__)
# Every page's frame (the nav bar, the forms' CSRF token), whichever module renders it.
bp.app_context_processor(page_frame)
bp.app_context_processor(page_globals)
for template_global in (format_money, shelf_price, tax_note):
    bp.add_app_template_global(template_global)

# Products shown on the home page, newest first.
FEATURED_COUNT = 8
# Recommendations shown on a product page.
RECOMMENDATION_COUNT = 4
SORTS = [("", "Best match / name"), ("price_asc", "Price: low to high"), ("price_desc", "Price: high to low"),
         ("name", "Name"), ("newest", "Newest"), ("rating", "Customer rating")]
# Reviews shown on a product page, and the orders they can be shown in.
REVIEWS_SHOWN = 10
REVIEW_SORTS = [("newest", "Newest"), ("helpful", "Most helpful")]


@bp.get("/")
def index():
    featured = product_listing(ProductQuery(sort="newest", per_page=FEATURED_COUNT))
    return render_template("index.html", categories=category_listing(), featured=featured["items"])


def price_filters(args: dict[str, str]) -> tuple[dict[str, int], dict[str, str]]:
    """The listing's price range, typed in the shop's currency units (20, 19.99), as the catalog
    query's cents; and a sentence for each price that is not one."""
    cents: dict[str, int] = {}
    errors: dict[str, str] = {}
    for field in ("min_price", "max_price"):
        if field in args:
            amount = cents_from_units(args[field], MAX_PRICE_CENTS)
            if amount is None:
                errors[field] = "Enter a price like 20 or 19.99."
            else:
                cents[f"{field}_cents"] = amount
    if cents.get("min_price_cents", 0) > cents.get("max_price_cents", MAX_PRICE_CENTS):
        errors["max_price"] = "The highest price must not be below the lowest."
        del cents["max_price_cents"]
    return cents, errors


@bp.get("/products")
def products():
    # Empty form fields mean "any", not an invalid value.
    args = {key: value for key, value in request.args.items() if value.strip()}
    prices, errors = price_filters(args)
    query = parse(ProductQuery, {key: value for key, value in args.items() if key not in ("min_price", "max_price")}
                  | prices, "query")
    listing = product_listing(query)

    def page_url(page: int) -> str:
        return url_for("storefront.products", **{**args, "page": page})

    last_page = max(1, -(-listing["total"] // query.per_page))
    return render_template("catalog/products.html", query=query, listing=listing, last_page=last_page,
                           page_url=page_url, categories=category_listing(), sorts=SORTS, form=args,
                           errors=errors), 422 if errors else 200


@bp.get("/products/<int:product_id>")
def product(product_id: int):
    product = product_page(product_id)
    review_sort = request.args.get("reviews", "newest")
    review_sort = review_sort if review_sort in dict(REVIEW_SORTS) else "newest"
    shopper = current_user()
    return render_template("catalog/product.html", product=product,
                           promotions=carts.promotions_for(product["id"], product["category"]["id"]),
                           recommendations=recommendations_for(product_id, RECOMMENDATION_COUNT),
                           reviews=reviews.product_reviews(product_id, review_sort, 1, REVIEWS_SHOWN, shopper),
                           review_sort=review_sort, review_sorts=REVIEW_SORTS,
                           own=reviews.review_status(product_id, shopper))


@bp.get("/images/products/<string(length=16):fingerprint>.svg")
def product_image(fingerprint: str):
    """A product's picture: its URL names its content, so it never changes and is kept a year."""
    svg = image_by_fingerprint(fingerprint)
    if svg is None:
        raise Problem(404, "Not found", "No such picture.", type_="not-found")
    return Response(svg, mimetype="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=31536000, immutable"})
