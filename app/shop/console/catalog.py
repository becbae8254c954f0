"""The staff console's catalog and stock: find a product, edit it, adjust its stock with a reason."""

from __future__ import annotations

import re

from flask import flash, redirect, render_template, request, url_for
from pydantic import Field, ValidationError

from ..accounts.auth import require_staff
from ..api import PageQuery, parse
from ..catalog import service as catalog
from ..catalog.schemas import MAX_PRICE_CENTS, MAX_STOCK, ProductChange
from ..errors import Problem
from ..storefront.forms import attempt, cents_from_units, field_errors
from . import console_blueprint

bp = console_blueprint("console_catalog", __name__)

PRODUCTS_PER_PAGE = 25
# Stock adjustments shown on a product's page, newest first.
ADJUSTMENTS_SHOWN = 20


class ProductSearch(PageQuery):
    q: str = Field("", max_length=200)


# Units added to the stock ("12", "+12") or taken away ("-3").
SIGNED_NUMBER = re.compile(r"[+-]?[0-9]{1,7}")
MAX_REASON = 200


def _product_page(product_id: int, form: dict | None = None, errors: dict | None = None, status: int = 200):
    product = catalog.get_product(product_id)
    return render_template("console/product.html", product=product, categories=catalog.list_categories(),
                           adjustments=catalog.stock_adjustments(product_id, ADJUSTMENTS_SHOWN), form=form or {},
                           errors=errors or {}), status


@bp.get("/products")
def product_list():
    args = {key: value for key, value in request.args.items() if value.strip()}
    query = parse(ProductSearch, {"per_page": PRODUCTS_PER_PAGE, **args}, "query")
    found = catalog.list_products(catalog.ProductFilter(q=query.q, sort="name" if not query.q else None,
                                                        page=query.page, per_page=query.per_page))
    return render_template("console/products.html", products=found.products, total=found.total, query=query,
                           last_page=max(1, -(-found.total // query.per_page)))


@bp.get("/products/<int:product_id>")
def product_page(product_id: int):
    return _product_page(product_id)


@bp.post("/products/<int:product_id>")
def edit_product(product_id: int):
    form = request.form.to_dict()
    changes: dict = {key: form[key] for key in ("sku", "name", "description", "category") if key in form}
    errors: dict[str, str] = {}
    price = cents_from_units(form.get("price", ""), MAX_PRICE_CENTS)
    if price is None:
        errors["price"] = "Enter a price like 20 or 19.99."
    else:
        changes["price_cents"] = price
    try:
        change = ProductChange.model_validate(changes)
    except ValidationError as error:
        errors |= field_errors(error)
    if errors:
        return _product_page(product_id, form, errors, 422)
    try:
        catalog.update_product(product_id, change.model_dump(exclude_unset=True))
    except Problem as problem:
        if problem.status == 404:
            raise
        return _product_page(product_id, form, {problem.extra.get("field", "form"): problem.detail}, problem.status)
    flash("The product is saved.", "success")
    return redirect(url_for(".product_page", product_id=product_id))


@bp.post("/products/<int:product_id>/stock")
def adjust_stock(product_id: int):
    delta_text = request.form.get("delta", "").strip()
    delta = int(delta_text) if SIGNED_NUMBER.fullmatch(delta_text) else 0
    reason = request.form.get("reason", "").strip()
    if not delta or abs(delta) > MAX_STOCK:
        flash(f"Enter the units to add (or, negative, take away): a whole number from -{MAX_STOCK} to {MAX_STOCK}, "
              "not 0.", "error")
    elif not reason or len(reason) > MAX_REASON:
        flash(f"Say why the stock changes (up to {MAX_REASON} characters).", "error")
    else:
        attempt(lambda: catalog.adjust_stock(product_id, delta, MAX_STOCK, reason, require_staff().id),
                lambda product: f"Stock is {product.stock} now ({delta:+d}: {reason}).")
    return redirect(url_for(".product_page", product_id=product_id))
