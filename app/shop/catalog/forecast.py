"""Sales forecast and restock suggestion for one product, from its own order history.

Units sold per day over a window (days without sales count as 0) are fitted with a least-squares
line; the line, carried forward and floored at 0, is the forecast. A restock should cover the
forecast demand until it arrives (the lead time) plus safety stock against the day-to-day scatter
around the line: SERVICE_LEVEL_Z standard deviations of that scatter over the lead time.
"""

from __future__ import annotations

import math
import statistics
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from ..extensions import db
from ..orders.models import Order, OrderLine
from .models import Product
from .recommendations import UNSOLD_STATUSES
from .schemas import ForecastOut

# z for a ~95 % chance that safety stock absorbs the scatter during the lead time.
SERVICE_LEVEL_Z = 1.65


def units_sold_by_product(first_day: date, days: int, product_ids: list[int] | None = None) -> dict[int, list[int]]:
    """Units of each product (or of `product_ids`) in orders placed on each day from `first_day`
    (UTC), zero-filled; products without sales are left out."""
    start = datetime.combine(first_day, time(), UTC)
    query = (select(OrderLine.product_id, Order.created_at, OrderLine.quantity)
             .join(Order, Order.id == OrderLine.order_id)
             .where(Order.status.not_in(UNSOLD_STATUSES), Order.created_at >= start,
                    Order.created_at < start + timedelta(days=days)))
    if product_ids is not None:
        query = query.where(OrderLine.product_id.in_(product_ids))
    units: dict[int, list[int]] = {}
    for product_id, placed, quantity in db.session.execute(query):
        units.setdefault(product_id, [0] * days)[(placed.astimezone(UTC).date() - first_day).days] += quantity
    return units


def daily_units_sold(product_id: int, first_day: date, days: int) -> list[int]:
    """Units of the product in orders placed on each day from `first_day` (UTC), zero-filled."""
    return units_sold_by_product(first_day, days, [product_id]).get(product_id, [0] * days)


def _line_through(values: list[int]) -> tuple[float, float, float]:
    """Slope, intercept and the standard deviation of the residuals of the least-squares line."""
    days = list(range(len(values)))
    slope, intercept = statistics.linear_regression(days, values)
    residuals = [value - (intercept + slope * day) for day, value in zip(days, values, strict=True)]
    return slope, intercept, statistics.pstdev(residuals)


def forecast(product: Product, today: date, window_days: int, horizon_days: int,
             lead_time_days: int, sold: list[int] | None = None) -> ForecastOut:
    """Fit the `window_days` full days before `today` and look `horizon_days` ahead from today
    (`sold`: the window's daily units, when the caller has read them already)."""
    first_day = today - timedelta(days=window_days)
    if sold is None:
        sold = daily_units_sold(product.id, first_day, window_days)
    slope, intercept, scatter = _line_through(sold)

    def expected(day: int) -> float:
        return max(0.0, intercept + slope * day)

    ahead = [round(expected(window_days + day), 4) for day in range(horizon_days)]
    lead_time_demand = math.ceil(sum(expected(window_days + day) for day in range(lead_time_days)) - 1e-9)
    safety_stock = math.ceil(SERVICE_LEVEL_Z * scatter * math.sqrt(lead_time_days) - 1e-9)
    restock = max(0, lead_time_demand + safety_stock - product.stock)
    explanation = (
        f"Fitted {window_days} days of sales ({first_day} to {today - timedelta(days=1)}, days "
        f"without sales as 0): units/day = {intercept:.3f} + {slope:.3f} x day. Over the next "
        f"{lead_time_days} days (the lead time) that line expects {lead_time_demand} units; safety "
        f"stock of {safety_stock} is {SERVICE_LEVEL_Z} x the {scatter:.3f} units/day scatter around "
        f"the line x sqrt({lead_time_days}). Stock is {product.stock}, so order {restock}."
    )
    return ForecastOut(
        product_id=product.id, window_start=first_day.isoformat(),
        window_end=(today - timedelta(days=1)).isoformat(), daily_units=sold, slope=round(slope, 6),
        intercept=round(intercept, 6), residual_stddev=round(scatter, 6), horizon_days=horizon_days,
        daily_forecast=ahead, forecast_units=math.ceil(sum(ahead) - 1e-9), lead_time_days=lead_time_days,
        lead_time_demand=lead_time_demand, safety_stock=safety_stock, stock=product.stock,
        restock_units=restock, explanation=explanation,
    )


def restock_table(today: date, window_days: int, horizon_days: int, lead_time_days: int
                  ) -> list[tuple[Product, ForecastOut]]:
    """Every product with its forecast, those to restock first (most units to order first), from
    one read of the window's sales."""
    first_day = today - timedelta(days=window_days)
    sales = units_sold_by_product(first_day, window_days)
    products = db.session.scalars(select(Product).order_by(Product.name, Product.id))
    table = [(product, forecast(product, today, window_days, horizon_days, lead_time_days,
                                sales.get(product.id, [0] * window_days))) for product in products]
    return sorted(table, key=lambda row: (-row[1].restock_units, -row[1].forecast_units, row[0].name))
