"""The staff console in Chromium: staff find an order and refund it, adjust stock with a reason,
read a product's forecast chart, and moderate a review; and a customer reviews the product they
received and sees its rating on the listing. Every screen passes axe-core and fits the window;
screenshots are saved under tests/app/screenshots/ (gitignored)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from playwright.sync_api import expect

from shop.cart.pricing import PricingPolicy
from shop.columns import utcnow
from shop.extensions import db, payment_gateway
from shop.models import Product
from shop.orders.service import place_order
from shop.payments import service as payments
from shop.payments.gateway import Card
from shop.tasks import relay_outbox

from .factories import ADDRESS, make_cart, make_category, make_past_order, make_product, make_user
from .test_storefront_browser_pages import chromium, log_in, open_page, problems  # noqa: F401 - the shared browser

SCREENSHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def shop(app):
    SCREENSHOTS.mkdir(exist_ok=True)
    kitchen = make_category("Kitchen")
    pan = make_product(kitchen, name="Cast Iron Frying Pan", price_cents=3499, stock=40)
    make_product(kitchen, name="Bamboo Cutting Board", price_cents=1299, stock=9)
    customer = make_user(email="ada@example.com", name="Ada Lovelace")
    config = current_app.config
    order = place_order(make_cart(customer, (pan, 2)).id, customer, ADDRESS, PricingPolicy.from_config(config),
                        config["ORDER_RESERVATION_SECONDS"])
    payments.pay_order(order["id"], customer, Card("4242424242424242", 12, 2099, "123"), payment_gateway())
    relay_outbox.apply()  # order.paid reaches logistics, which books the shipment
    buyer = make_user()
    for day in range(1, 61):
        make_past_order(buyer, [(db.session.get(Product, pan.id), 1 + (60 - day) // 15)],
                        placed_at=utcnow() - timedelta(days=day))
    staff = make_user("staff", email="grace@example.com", name="Grace Hopper")
    return {"pan": pan.id, "order": order["id"], "customer": customer.email, "staff": staff.email}


def checked(page, name: str) -> None:
    """The screen passes axe-core and fits the window; then its screenshot is saved."""
    assert problems(page) == []
    page.screenshot(path=SCREENSHOTS / f"console-{name}.png", full_page=True)


def test_staff_find_an_order_and_refund_it(chromium, live_server, shop):  # noqa: F811
    page = open_page(chromium, 1366, 900)
    log_in(page, live_server, shop["staff"])
    page.get_by_test_id("console-link").click()
    page.wait_for_url(live_server + "/console/")
    checked(page, "home")
    page.get_by_test_id("console-nav").get_by_role("link", name="Orders").click()
    page.get_by_label("Order id or e-mail").fill("ada@")
    page.get_by_test_id("order-search-submit").click()
    expect(page.get_by_test_id("order-row")).to_have_count(1)
    checked(page, "orders-search")
    page.get_by_role("link", name=f"#{shop['order']}").click()
    expect(page.get_by_test_id("order-status")).to_have_text("paid")
    expect(page.get_by_test_id("payments")).to_contain_text("4242")
    expect(page.get_by_test_id("shipment")).to_be_visible()
    checked(page, "order")
    page.get_by_label("Reason").fill("arrived cracked")
    page.get_by_test_id("refund-submit").click()
    expect(page.get_by_test_id("order-status")).to_have_text("refunded")
    expect(page.get_by_test_id("order-history")).to_contain_text("arrived cracked")
    checked(page, "order-refunded")


def test_staff_adjust_stock_with_a_reason(chromium, live_server, shop):  # noqa: F811
    page = open_page(chromium, 1366, 900)
    log_in(page, live_server, shop["staff"])
    page.goto(live_server + "/console/products")
    checked(page, "products")
    page.get_by_role("link", name="Cast Iron Frying Pan").click()
    page.get_by_label("Units to add (negative to take away)").fill("-4")
    page.get_by_label("Reason").fill("dropped in the warehouse")
    page.get_by_test_id("stock-submit").click()
    expect(page.get_by_test_id("stock")).to_have_text("34")
    expect(page.get_by_test_id("stock-adjustment")).to_contain_text("dropped in the warehouse")
    checked(page, "stock-adjusted")


def test_staff_read_a_products_forecast_chart(chromium, live_server, shop):  # noqa: F811
    page = open_page(chromium, 1366, 900)
    log_in(page, live_server, shop["staff"])
    page.goto(live_server + "/console/forecast?window_days=60&lead_time_days=14")
    expect(page.get_by_test_id("restock-row").first).to_have_attribute("data-product-id", str(shop["pan"]))
    checked(page, "restock")
    page.get_by_role("link", name="Cast Iron Frying Pan").click()
    chart = page.get_by_test_id("forecast-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.sold")).to_have_count(60)
    assert chart.bounding_box()["width"] > 600
    checked(page, "forecast-chart")


def test_a_customer_reviews_what_they_received_and_staff_moderate_it(chromium, live_server, shop, app):  # noqa: F811
    reviewer = make_user(email="alan@example.com", name="Alan Turing")
    make_past_order(reviewer, [(db.session.get(Product, shop["pan"]), 1)], status="delivered")
    page = open_page(chromium, 1366, 900)
    log_in(page, live_server, reviewer.email)
    page.goto(f"{live_server}/products/{shop['pan']}")
    form = page.get_by_test_id("review-form")
    form.get_by_label("4 ★").check()
    form.get_by_label("Title").fill("Heavy and even")
    form.get_by_label("Your review").fill("Sears a steak beautifully; mind the weight.")
    form.get_by_test_id("review-submit").click()
    expect(page.get_by_test_id("review")).to_contain_text("Heavy and even")
    expect(page.get_by_test_id("reviews").get_by_test_id("rating").first).to_have_attribute("data-rating-count", "1")
    checked(page, "storefront-reviewed")
    page.goto(live_server + "/products?sort=rating")
    card = page.locator(f'[data-test="product-card"][data-product-id="{shop["pan"]}"]')
    expect(card.get_by_test_id("rating")).to_have_attribute("data-rating-average", "4.0")
    expect(page.get_by_test_id("product-card").first).to_have_attribute("data-product-id", str(shop["pan"]))
    checked(page, "storefront-listing-rated")

    staff_page = open_page(chromium, 1366, 900)
    log_in(staff_page, live_server, shop["staff"])
    staff_page.goto(live_server + "/console/reviews")
    review = staff_page.get_by_test_id("moderated-review")
    review.get_by_label("Reason").fill("mentions a competitor's shop")
    review.get_by_test_id("hide").click()
    expect(staff_page.get_by_test_id("hidden-reason")).to_contain_text("mentions a competitor's shop")
    checked(staff_page, "reviews-hidden")
    page.goto(f"{live_server}/products/{shop['pan']}")
    expect(page.get_by_test_id("own-review-hidden")).to_contain_text("mentions a competitor's shop")
    expect(page.get_by_test_id("review")).to_have_count(0)
    staff_page.get_by_test_id("unhide").click()
    expect(staff_page.get_by_test_id("hide")).to_be_visible()


def test_the_console_fits_a_phone(chromium, live_server, shop):  # noqa: F811
    page = open_page(chromium, 390, 844)
    log_in(page, live_server, shop["staff"])
    for name, path in [("phone-order", f"/console/orders/{shop['order']}"),
                       ("phone-forecast", f"/console/forecast/{shop['pan']}")]:
        page.goto(live_server + path)
        checked(page, name)
