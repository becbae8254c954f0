"""The sales forecast: a least-squares line over zero-filled daily sales, and a restock suggestion."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from shop.columns import utcnow

from .factories import auth_headers, make_past_order, make_product, make_user


def noon_days_ago(days: int) -> datetime:
    return datetime.combine(utcnow().date() - timedelta(days=days), time(12), UTC)


@pytest.fixture
def staff(app):
    return auth_headers(make_user(role="staff"))


def sell(product, units_by_day: list[int], status: str = "completed") -> None:
    """Orders placing units_by_day[i] units on day i of a window of len(units_by_day) days."""
    customer = make_user()
    window = len(units_by_day)
    for day, units in enumerate(units_by_day):
        if units:
            make_past_order(customer, [(product, units)], status=status, placed_at=noon_days_ago(window - day))


def test_a_rising_trend_is_forecast_exactly(client, staff):
    product = make_product(stock=50)
    sell(product, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18])  # 2 more each day; day 0 has no sales at all
    sell(product, [0, 0, 0, 0, 0, 9, 0, 0, 0, 0], status="cancelled")
    response = client.get(
        f"/api/v1/products/{product.id}/forecast",
        query_string={"window_days": 10, "horizon_days": 3, "lead_time_days": 3},
        headers=staff,
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert body["daily_units"] == [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]
    assert (body["slope"], body["intercept"], body["residual_stddev"]) == (2.0, 0.0, 0.0)
    assert body["daily_forecast"] == [20.0, 22.0, 24.0]
    assert body["forecast_units"] == 66
    # Lead time demand 66, no scatter so no safety stock, 50 on the shelf: order 16.
    assert (body["lead_time_demand"], body["safety_stock"], body["restock_units"]) == (66, 0, 16)
    assert body["window_end"] == (utcnow().date() - timedelta(days=1)).isoformat()
    assert "order 16" in body["explanation"]


def test_scatter_adds_safety_stock(client, staff):
    product = make_product(stock=0)
    sell(product, [0, 0, 0, 4, 0, 4, 0])
    body = client.get(
        f"/api/v1/products/{product.id}/forecast",
        query_string={"window_days": 7, "horizon_days": 2, "lead_time_days": 4},
        headers=staff,
    ).json
    assert body["daily_units"] == [0, 0, 0, 4, 0, 4, 0]
    # Over x = 0..6 (mean 3, y mean 8/7): slope = 8 / 28 = 2/7, intercept = 8/7 - 3 x 2/7 = 2/7.
    assert (round(body["slope"], 4), round(body["intercept"], 4)) == (0.2857, 0.2857)
    assert body["daily_forecast"] == [2.2857, 2.5714]  # 2/7 x 8, 2/7 x 9
    # Lead time demand over days 7..10: 2/7 x (8 + 9 + 10 + 11) = 10.86 -> 11 units.
    assert body["lead_time_demand"] == 11
    # Residual stddev is 12/7; safety = 1.65 x 12/7 x sqrt(4) = 5.66 -> 6; nothing on the shelf.
    assert round(body["residual_stddev"], 4) == 1.7143
    assert (body["safety_stock"], body["restock_units"]) == (6, 17)


def test_a_falling_trend_never_forecasts_negative_demand(client, staff):
    product = make_product(stock=5)
    sell(product, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0])
    body = client.get(
        f"/api/v1/products/{product.id}/forecast", query_string={"window_days": 10, "horizon_days": 5}, headers=staff
    ).json
    assert body["slope"] == -1.0
    assert body["daily_forecast"] == [0.0] * 5
    assert (body["forecast_units"], body["lead_time_demand"], body["restock_units"]) == (0, 0, 0)


def test_defaults_cover_ninety_days_and_two_weeks(client, staff):
    product = make_product(stock=1000)
    body = client.get(f"/api/v1/products/{product.id}/forecast", headers=staff).json
    assert (len(body["daily_units"]), body["horizon_days"], body["lead_time_days"]) == (90, 14, 7)
    assert (body["slope"], body["forecast_units"], body["restock_units"]) == (0.0, 0, 0)


@pytest.mark.parametrize("query", ["window_days=1", "window_days=100000", "horizon_days=0", "lead_time_days=-1"])
def test_bad_forecast_parameters_are_refused(client, staff, query):
    product = make_product()
    response = client.get(f"/api/v1/products/{product.id}/forecast?{query}", headers=staff)
    assert (response.status_code, response.json["field"]) == (422, query.split("=")[0])
