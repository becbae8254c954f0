"""The staff console's sales forecast: what to restock, and each product's sales and forecast drawn
as a chart."""

from __future__ import annotations

from flask import render_template, request
from pydantic import Field

from ..api import parse
from ..catalog.forecast import forecast, restock_table
from ..catalog.schemas import ForecastQuery
from ..catalog.service import get_product
from ..columns import utcnow
from . import console_blueprint
from .charts import forecast_chart

bp = console_blueprint("console_forecast", __name__)


class RestockQuery(ForecastQuery):
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(50, ge=1, le=200)


@bp.get("/forecast")
def restock():
    args = {key: value for key, value in request.args.items() if value.strip()}
    query = parse(RestockQuery, args, "query")
    table = restock_table(utcnow().date(), query.window_days, query.horizon_days, query.lead_time_days)
    start = (query.page - 1) * query.per_page
    return render_template("console/forecast.html", rows=table[start:start + query.per_page], total=len(table),
                           to_restock=sum(1 for _, row in table if row.restock_units), query=query,
                           last_page=max(1, -(-len(table) // query.per_page)))


@bp.get("/forecast/<int:product_id>")
def product_forecast(product_id: int):
    query = parse(ForecastQuery, {key: value for key, value in request.args.items() if value.strip()}, "query")
    product = get_product(product_id)
    outlook = forecast(product, utcnow().date(), query.window_days, query.horizon_days, query.lead_time_days)
    return render_template("console/product_forecast.html", product=product, forecast=outlook, query=query,
                           chart=forecast_chart(outlook, product.name))
