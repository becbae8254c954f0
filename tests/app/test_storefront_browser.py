"""The storefront in a real browser (Debian's Chromium driven by Playwright): a shopper searches,
adds to the cart, logs in, checks out and pays. Screenshots land in the test's tmp dir."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect, sync_playwright

from .factories import PASSWORD, make_category, make_product, make_user

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def page():
    with sync_playwright() as playwright:
        playwright.selectors.set_test_id_attribute("data-test")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.set_default_timeout(15_000)
        yield context.new_page()
        browser.close()


def test_a_shopper_finds_buys_and_pays(page, live_server, tmp_path):
    kitchen = make_category("Kitchen")
    pan = make_product(kitchen, name="Cast Iron Frying Pan", price_cents=3499, stock=4)
    make_product(kitchen, name="Bamboo Cutting Board", price_cents=1299, stock=9)
    customer = make_user(name="Ada")
    email, pan_id = customer.email, pan.id

    page.goto(live_server + "/")
    page.get_by_test_id("search-box").fill("pans")
    page.get_by_test_id("search-submit").click()
    page.get_by_role("link", name="Cast Iron Frying Pan").first.click()
    expect(page.get_by_test_id("product-name")).to_have_text("Cast Iron Frying Pan")
    page.get_by_label("Quantity").fill("2")
    page.get_by_test_id("add-to-cart-submit").click()

    page.goto(live_server + "/cart")
    expect(page.locator(f'[data-test="cart-line"][data-product-id="{pan_id}"]')).to_be_visible()
    # 2 x 34.99 + 4.99 shipping + 20 % tax = 89.96
    expect(page.get_by_test_id("quote-total")).to_contain_text("89.96")
    page.screenshot(path=tmp_path / "cart.png", full_page=True)

    page.get_by_test_id("checkout-link").click()
    page.get_by_test_id("guest-contact").get_by_role("link", name="log in").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("checkout-form")).to_be_visible()
    for label, value in [("Street and number", "12 Analytical St"), ("City", "London"),
                         ("Postal code", "N1 7AA"), ("Country (2 letters)", "GB"),
                         ("Card number", "4242 4242 4242 4242"), ("Expiry month", "12"),
                         ("Expiry year", "2035"), ("CVC", "123")]:
        page.get_by_label(label).fill(value)
    page.get_by_test_id("place-order").click()

    expect(page.get_by_test_id("order-status")).to_have_text("paid")
    expect(page.get_by_test_id("quote-total")).to_contain_text("89.96")
    page.screenshot(path=tmp_path / "order.png", full_page=True)

    page.goto(f"{live_server}/products/{pan_id}")
    expect(page.get_by_test_id("stock")).to_have_text("2 in stock")
