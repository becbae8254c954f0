"""Shoppers' walks through the storefront in Chromium, each saving screenshots under
tests/app/screenshots/ (gitignored): a guest whose first card is declined, a card the bank
confirms later (the page follows by itself), and a purchase on a phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from .factories import make_category, make_product
from .test_storefront_browser_pages import chromium, open_page  # noqa: F401 - the shared browser

SCREENSHOTS = Path(__file__).parent / "screenshots"
ADDRESS = [("Name", "Ada Lovelace"), ("Street and number", "12 Analytical St"), ("City", "London"),
           ("Postal code", "N1 7AA"), ("Country (2 letters)", "GB")]


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def product(app) -> int:
    return make_product(make_category("Kitchen"), name="Cast Iron Frying Pan", price_cents=3499, stock=20).id


def fill_card(page, number: str) -> None:
    for label, value in [("Card number", number), ("Expiry month", "12"), ("Expiry year", "2035"), ("CVC", "123")]:
        page.get_by_label(label).fill(value)


def buy_as_guest(page, base: str, product: int, card: str, shot: str) -> None:
    page.goto(f"{base}/products/{product}")
    page.get_by_test_id("add-to-cart-submit").click()
    page.goto(base + "/checkout")
    page.get_by_label("E-mail").fill("guest@example.com")
    for label, value in ADDRESS:
        page.get_by_label(label).fill(value)
    fill_card(page, card)
    page.screenshot(path=SCREENSHOTS / f"{shot}-checkout.png", full_page=True)
    page.get_by_test_id("place-order").click()


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_a_guest_pays_with_a_second_card_after_a_declined_one(chromium, live_server, product):  # noqa: F811
    SCREENSHOTS.mkdir(exist_ok=True)
    page = open_page(chromium, 1366, 900)
    buy_as_guest(page, live_server, product, "4000 0000 0000 0002", "declined")
    expect(page.get_by_test_id("order-status")).to_have_text("pending payment")
    expect(page.get_by_text("Payment failed")).to_be_visible()
    expect(page.get_by_test_id("guest-order-link")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "declined-order.png", full_page=True)
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_test_id("order-status")).to_have_text("paid")
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    page.screenshot(path=SCREENSHOTS / "paid-order-printed.png", full_page=True)


def test_the_order_page_follows_the_banks_confirmation_by_itself(chromium, live_server, product, app):  # noqa: F811
    SCREENSHOTS.mkdir(exist_ok=True)
    app.config["SANDBOX_CONFIRMATION_SECONDS"] = 3600  # the bank waits until the test moves its clock
    page = open_page(chromium, 1366, 900)
    buy_as_guest(page, live_server, product, "4000 0000 0000 3220", "confirmation")
    expect(page.get_by_test_id("awaiting-confirmation")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "confirmation-awaiting.png", full_page=True)
    app.config["SANDBOX_CONFIRMATION_SECONDS"] = 0  # the bank confirms at its next chance: the page's poll
    expect(page.get_by_test_id("order-status")).to_have_text("paid", timeout=10_000)
    expect(page.get_by_test_id("awaiting-confirmation")).to_have_count(0)
    page.screenshot(path=SCREENSHOTS / "confirmation-paid.png", full_page=True)


def test_a_purchase_on_a_phone_never_scrolls_sideways(chromium, live_server, product):  # noqa: F811
    SCREENSHOTS.mkdir(exist_ok=True)
    page = open_page(chromium, 390, 844)
    page.goto(live_server + "/products")
    assert fits(page)
    page.screenshot(path=SCREENSHOTS / "phone-products.png", full_page=True)
    page.goto(live_server + "/cart")
    buy_as_guest(page, live_server, product, "4242 4242 4242 4242", "phone")
    expect(page.get_by_test_id("order-status")).to_have_text("paid")
    assert fits(page)
    page.screenshot(path=SCREENSHOTS / "phone-order.png", full_page=True)
    page.goto(live_server + "/cart")
    assert fits(page)
