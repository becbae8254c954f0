from __future__ import annotations

from flask import Blueprint, Response, current_app

from ..accounts.auth import require_staff
from ..api import PageQuery, operation, page_of
from ..columns import utcnow
from . import service
from .forecast import forecast
from .queries import category_listing, product_listing_json, product_page_json, recommendations_json
from .schemas import (
    MAX_STOCK,
    CategoryList,
    ForecastOut,
    ForecastQuery,
    NewProduct,
    ProductChange,
    ProductList,
    ProductOut,
    ProductQuery,
    RecommendationList,
    RecommendationQuery,
    StockAdjustment,
    StockLevel,
    product_out,
)

bp = Blueprint("catalog", __name__, url_prefix="/api/v1")


def json_text(text: str) -> Response:
    return Response(text, mimetype="application/json")


@bp.get("/categories")
@operation("Every category, by name", tags=["catalog"], query=PageQuery, response=CategoryList)
def list_categories(query: PageQuery):
    categories = category_listing()
    start = (query.page - 1) * query.per_page
    return page_of(categories[start:start + query.per_page], len(categories), query)


@bp.get("/products")
@operation("Products: search (q, ranked by relevance), filter by category and price, sort, page",
           tags=["catalog"], query=ProductQuery, response=ProductList)
def list_products(query: ProductQuery):
    return json_text(product_listing_json(query))


@bp.get("/products/<int:product_id>")
@operation("One product", tags=["catalog"], response=ProductOut)
def show_product(product_id: int):
    return json_text(product_page_json(product_id))


@bp.post("/products")
@operation("Create a product (staff)", tags=["catalog"], body=NewProduct, response=ProductOut, status=201,
           auth="staff")
def create_product(body: NewProduct):
    product = service.create_product(body.model_dump(), current_app.config["SHOP_CURRENCY"])
    return product_out(product), 201, {"Location": f"/api/v1/products/{product.id}"}


@bp.patch("/products/<int:product_id>")
@operation("Change a product's details (staff); only the fields sent change", tags=["catalog"],
           body=ProductChange, response=ProductOut, auth="staff")
def update_product(product_id: int, body: ProductChange):
    return product_out(service.update_product(product_id, body.model_dump(exclude_unset=True)))


@bp.put("/products/<int:product_id>/stock")
@operation("Set a product's stock (staff)", tags=["catalog"], body=StockLevel, response=ProductOut,
           auth="staff")
def set_stock(product_id: int, body: StockLevel):
    return product_out(service.set_stock(product_id, body.stock))


@bp.post("/products/<int:product_id>/stock/adjustments")
@operation("Add to (or, negative, take from) a product's stock (staff); 409 below zero",
           tags=["catalog"], body=StockAdjustment, response=ProductOut, auth="staff")
def adjust_stock(product_id: int, body: StockAdjustment):
    return product_out(service.adjust_stock(product_id, body.delta, MAX_STOCK, body.reason, require_staff().id))


@bp.get("/products/<int:product_id>/recommendations")
@operation("Products bought together with this one, else similar ones; each says its source",
           tags=["catalog"], query=RecommendationQuery, response=RecommendationList)
def recommendations(product_id: int, query: RecommendationQuery):
    return json_text(recommendations_json(product_id, query.limit))


@bp.get("/products/<int:product_id>/forecast")
@operation("Sales forecast and restock suggestion (staff)", tags=["catalog"], query=ForecastQuery,
           response=ForecastOut, auth="staff")
def sales_forecast(product_id: int, query: ForecastQuery):
    product = service.get_product(product_id)
    return forecast(product, utcnow().date(), query.window_days, query.horizon_days,
                    query.lead_time_days).model_dump()
