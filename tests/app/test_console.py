"""The staff console: only staff see it (anyone else gets a 404), every form carries the session's
CSRF token, and its pages call the shop's services: orders found and moved or refunded, products
edited and their stock adjusted with a reason, the sales forecast with its chart, reviews hidden
and shown again."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from datetime import timedelta

import pytest
from sqlalchemy import select

from shop.catalog.models import Product, StockAdjustment
from shop.columns import utcnow
from shop.extensions import db
from shop.models import Order
from shop.reviews.models import Review

from .factories import auth_headers, make_category, make_order, make_past_order, make_product, make_user
from .test_dead_letters import log_in
from .test_payments import pay

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client, path: str = "/console/") -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


@pytest.fixture
def staff(client, app):
    user = make_user("staff", name="Grace Hopper")
    log_in(client, user)
    return user


@pytest.fixture
def shop(app):
    """A product, a paid-for order of it (pending: the tests pay it when they need to), a review."""
    kitchen = make_category("Kitchen")
    pan = make_product(kitchen, name="Cast Iron Frying Pan", stock=30)
    customer = make_user(email="ada@example.com", name="Ada Lovelace")
    order = make_order(customer, (pan, 2))
    reviewer = make_user(name="Alan Turing")
    make_past_order(reviewer, [(pan, 1)], status="delivered")
    return {"pan": pan.id, "customer": customer, "order": order, "reviewer": reviewer}


def pages(shop) -> list[str]:
    return ["/console/", "/console/orders", f"/console/orders/{shop['order']['id']}", "/console/products",
            f"/console/products/{shop['pan']}", "/console/forecast", f"/console/forecast/{shop['pan']}",
            "/console/reviews", "/console/dead-letters"]


# --- who may see it -----------------------------------------------------------------------------

@pytest.mark.parametrize("role", [None, "customer"])
def test_anyone_but_staff_is_told_no_console_page_exists(client, shop, role):
    if role:
        log_in(client, make_user(role))
    assert {path: client.get(path).status_code for path in pages(shop)} == {path: 404 for path in pages(shop)}


def test_staff_see_every_console_page(client, shop, staff):
    assert {path: client.get(path).status_code for path in pages(shop)} == {path: 200 for path in pages(shop)}


def test_a_customers_form_post_is_a_404_even_with_a_token(client, shop):
    log_in(client, make_user())
    token = csrf(client, "/login")
    response = client.post(f"/console/products/{shop['pan']}/stock",
                           data={"delta": "5", "reason": "count", "csrf_token": token})
    assert response.status_code == 404


@pytest.mark.parametrize("token", [None, "forged"])
def test_a_staff_form_post_without_the_sessions_token_is_refused(client, shop, staff, token):
    data = {"delta": "5", "reason": "count"} | ({"csrf_token": token} if token else {})
    response = client.post(f"/console/products/{shop['pan']}/stock", data=data)
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    assert db.session.get(Product, shop["pan"]).stock == 28


def test_a_bearer_token_does_not_open_the_console_forms(client, shop):
    response = client.post(f"/console/products/{shop['pan']}/stock", data={"delta": "5", "reason": "count"},
                           headers=auth_headers(make_user("staff")))
    assert response.status_code == 400


def test_the_console_home_links_every_section(client, shop, staff):
    body = client.get("/console/").get_data(as_text=True)
    for path in ("/console/orders", "/console/products", "/console/forecast", "/console/reviews",
                 "/console/dead-letters"):
        assert f'href="{path}"' in body


def test_staff_see_a_console_link_in_the_shops_menu(client, shop, staff):
    assert 'data-test="console-link"' in client.get("/").get_data(as_text=True)


# --- orders ---------------------------------------------------------------------------------------

def test_an_order_id_opens_that_order(client, shop, staff):
    response = client.get("/console/orders", query_string={"q": f"#{shop['order']['id']}"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/console/orders/{shop['order']['id']}")


def test_orders_are_found_by_part_of_the_customers_email(client, shop, staff):
    make_order(make_user(email="someone@else.org"))
    body = client.get("/console/orders", query_string={"q": "ADA@example"}).get_data(as_text=True)
    assert body.count('data-test="order-row"') == 1
    assert "ada@example.com" in body


def test_orders_are_found_by_status(client, shop, staff):
    make_order(make_user(), status="shipped")
    body = client.get("/console/orders", query_string={"status": "shipped"}).get_data(as_text=True)
    assert body.count('data-test="order-row"') == 1
    assert f">#{shop['order']['id']}<" not in body


def test_a_bad_status_is_a_clear_4xx(client, shop, staff):
    assert client.get("/console/orders", query_string={"status": "lost"}).status_code == 422


def test_the_order_page_shows_history_payments_shipment_and_the_allowed_moves(client, shop, staff):
    pay(client, shop["customer"], shop["order"])
    body = client.get(f"/console/orders/{shop['order']['id']}").get_data(as_text=True)
    assert 'data-test="order-history"' in body and "checkout" in body
    assert 'data-test="payments"' in body and "4242" in body
    assert 'data-test="shipment"' in body
    assert {"move-shipped", "move-cancelled", "refund"} <= set(re.findall(r'data-test="(move-\w+|refund)"', body))
    assert 'data-test="move-delivered"' not in body


def test_staff_move_an_order_from_its_page(client, shop, staff):
    pay(client, shop["customer"], shop["order"])
    order_id = shop["order"]["id"]
    response = client.post(f"/console/orders/{order_id}/moves",
                           data={"status": "shipped", "cause": "handed to the courier", "csrf_token": csrf(client)})
    assert response.status_code == 302
    order = db.session.get(Order, order_id)
    assert order.status == "shipped"
    assert order.transitions[-1].cause == "handed to the courier"


def test_staff_refund_an_order_from_its_page(client, shop, staff):
    pay(client, shop["customer"], shop["order"])
    order_id = shop["order"]["id"]
    client.post(f"/console/orders/{order_id}/moves",
                data={"status": "refunded", "cause": "arrived broken", "csrf_token": csrf(client)})
    body = client.get(f"/console/orders/{order_id}").get_data(as_text=True)
    assert db.session.get(Order, order_id).status == "refunded"
    assert "arrived broken" in body


def test_an_illegal_move_is_said_on_the_order_page(client, shop, staff):
    order_id = shop["order"]["id"]
    client.post(f"/console/orders/{order_id}/moves",
                data={"status": "delivered", "cause": "oops", "csrf_token": csrf(client)})
    body = client.get(f"/console/orders/{order_id}").get_data(as_text=True)
    assert "cannot become delivered" in body
    assert db.session.get(Order, order_id).status == "pending_payment"


# --- catalog and stock ---------------------------------------------------------------------------

def test_staff_adjust_stock_with_a_reason_kept_as_a_record(client, shop, staff):
    response = client.post(f"/console/products/{shop['pan']}/stock",
                           data={"delta": "-3", "reason": "dropped in the warehouse", "csrf_token": csrf(client)})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Product, shop["pan"]).stock == 25
    adjustment = db.session.scalars(select(StockAdjustment)).one()
    assert (adjustment.delta, adjustment.stock_after, adjustment.reason, adjustment.staff_id) == (
        -3, 25, "dropped in the warehouse", staff.id)
    assert "dropped in the warehouse" in client.get(f"/console/products/{shop['pan']}").get_data(as_text=True)


@pytest.mark.parametrize(("delta", "reason", "message"), [
    ("5", "", "Say why the stock changes"),
    ("0", "count", "not 0"),
    ("five", "count", "whole number"),
    ("-100", "count", "cannot change by -100"),
])
def test_a_stock_adjustment_that_does_not_fit_changes_nothing(client, shop, staff, delta, reason, message):
    client.post(f"/console/products/{shop['pan']}/stock",
                data={"delta": delta, "reason": reason, "csrf_token": csrf(client)})
    assert message in client.get(f"/console/products/{shop['pan']}").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Product, shop["pan"]).stock == 28
    assert db.session.scalars(select(StockAdjustment)).all() == []


def test_the_stock_api_keeps_the_adjustments_reason_too(client, shop):
    staff = make_user("staff")
    response = client.post(f"/api/v1/products/{shop['pan']}/stock/adjustments",
                           json={"delta": 12, "reason": "delivery from the foundry"}, headers=auth_headers(staff))
    assert response.status_code == 200
    adjustment = db.session.scalars(select(StockAdjustment)).one()
    assert (adjustment.delta, adjustment.stock_after, adjustment.reason) == (12, 40, "delivery from the foundry")


def test_staff_edit_a_product(client, shop, staff):
    response = client.post(f"/console/products/{shop['pan']}", data={
        "name": "Cast Iron Skillet", "sku": "PAN-1", "price": "39.50", "category": "kitchen",
        "description": "Pre-seasoned.", "csrf_token": csrf(client)})
    assert response.status_code == 302
    db.session.expire_all()
    product = db.session.get(Product, shop["pan"])
    assert (product.name, product.sku, product.price_cents, product.description) == (
        "Cast Iron Skillet", "PAN-1", 3950, "Pre-seasoned.")
    assert client.get(f"/api/v1/products/{shop['pan']}").json["name"] == "Cast Iron Skillet"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("price", "12,50", "Enter a price like 20 or 19.99."),
    ("sku", "has spaces", "Check this field."),
    ("name", "", "Enter a name"),
])
def test_a_product_edit_that_does_not_fit_is_shown_again_with_the_reason(client, shop, staff, field, value, message):
    data = {"name": "Pan", "sku": "PAN-1", "price": "12.50", "category": "kitchen", "description": ""}
    response = client.post(f"/console/products/{shop['pan']}", data={**data, field: value, "csrf_token": csrf(client)})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Product, shop["pan"]).name == "Cast Iron Frying Pan"


# --- the sales forecast --------------------------------------------------------------------------

@pytest.fixture
def sales(shop):
    """Thirty days of rising sales of the pan."""
    buyer = make_user()
    pan = db.session.get(Product, shop["pan"])
    for day in range(1, 31):
        make_past_order(buyer, [(pan, 1 + (30 - day) // 6)], placed_at=utcnow() - timedelta(days=day))
    return shop


def test_the_restock_table_puts_what_to_restock_first(client, sales, staff):
    make_product(name="Unsold Whisk", stock=0)
    body = client.get("/console/forecast", query_string={"window_days": 30, "lead_time_days": 14}).get_data(
        as_text=True)
    rows = re.findall(r'data-test="restock-row" data-product-id="(\d+)"', body)
    assert rows[0] == str(sales["pan"])
    assert 'data-test="restock-units"' in body


def test_a_products_forecast_is_drawn_as_an_svg_chart(client, sales, staff):
    body = client.get(f"/console/forecast/{sales['pan']}", query_string={"window_days": 30}).get_data(as_text=True)
    svg = re.search(r"<svg.*?</svg>", body, re.S).group(0)
    chart = ElementTree.fromstring(svg)
    namespace = "{http://www.w3.org/2000/svg}"
    assert chart.find(f"{namespace}title").text == "Daily units sold and forecast: Cast Iron Frying Pan"
    assert len(chart.findall(f"{namespace}rect[@class='sold']")) == 30
    assert {line.get("class") for line in chart.findall(f"{namespace}polyline")} == {"fitted", "forecast"}
    assert "<script" not in body


def test_a_bad_forecast_window_is_a_clear_4xx(client, shop, staff):
    assert client.get(f"/console/forecast/{shop['pan']}", query_string={"window_days": 3}).status_code == 422


# --- reviews --------------------------------------------------------------------------------------

@pytest.fixture
def review(client, shop):
    response = client.post(f"/api/v1/products/{shop['pan']}/reviews",
                           json={"rating": 2, "title": "Rusted", "body": "Rusted after a week."},
                           headers=auth_headers(shop["reviewer"]))
    return response.json["id"]


def test_staff_hide_a_review_with_a_reason_and_show_it_again(client, shop, review, staff):
    client.post(f"/console/reviews/{review}/hide", data={"reason": "names a competitor", "csrf_token": csrf(client)})
    db.session.expire_all()
    assert db.session.get(Review, review).hidden_reason == "names a competitor"
    assert client.get(f"/api/v1/products/{shop['pan']}").json["rating_count"] == 0
    listed = client.get("/console/reviews", query_string={"status": "hidden"}).get_data(as_text=True)
    assert "names a competitor" in listed
    client.post(f"/console/reviews/{review}/unhide", data={"csrf_token": csrf(client)})
    db.session.expire_all()
    assert db.session.get(Review, review).hidden_at is None
    assert client.get(f"/api/v1/products/{shop['pan']}").json["rating_count"] == 1


def test_hiding_needs_a_reason(client, shop, review, staff):
    client.post(f"/console/reviews/{review}/hide", data={"reason": " ", "csrf_token": csrf(client)})
    assert "Give the reason" in client.get("/console/reviews").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Review, review).hidden_at is None
