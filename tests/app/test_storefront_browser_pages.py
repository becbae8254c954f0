"""Every storefront page in Chromium at a desktop and a phone width: nothing scrolls sideways,
and axe-core finds no accessibility violation of any impact.

axe-core (MPL-2.0, tests/app/vendor/) is injected into each page; the browser context bypasses
the shop's CSP for that one script only, the page's own scripts still come from /static.
Chromium runs on the embedded default only: the pages are the same on both backends, and the
browser's time is what these tests cost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from .factories import PASSWORD, make_category, make_order, make_product, make_user
from .test_storefront_browser import CHROMIUM, CHROMIUM_ARGS

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture(scope="module")
def chromium():
    with sync_playwright() as playwright:
        playwright.selectors.set_test_id_attribute("data-test")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def open_page(chromium, width: int, height: int):
    context = chromium.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    context.set_default_timeout(15_000)
    return context.new_page()


def log_in(page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(base + "/")


def problems(page) -> list[str]:
    """What is wrong with the page shown: sideways scrolling, and every axe-core violation."""
    found = []
    page.wait_for_load_state("load")  # a click's navigation may still be under way
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > page.viewport_size["width"]:
        found.append(f"scrolls sideways: {scroll_width} px")
    page.add_script_tag(content=AXE)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    found += [f"{item['id']} ({item['impact']}): " + json.dumps([node["target"] for node in item["nodes"]][:3])
              for item in result["violations"]]
    return found


@pytest.fixture
def shop(app):
    kitchen = make_category("Kitchen")
    pan = make_product(kitchen, name="Cast Iron Frying Pan", price_cents=3499, stock=40)
    make_product(kitchen, name="Bamboo Cutting Board", price_cents=1299, stock=9)
    customer = make_user(name="Ada")
    order = make_order(customer, (pan, 1))
    return {"pan": pan.id, "email": customer.email, "order": order["id"]}


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_the_screen_and_passes_axe(chromium, live_server, shop, width):
    page = open_page(chromium, *WIDTHS[width])
    pages = {}
    for path in ("/", "/products", "/products?q=pan", f"/products/{shop['pan']}", "/login", "/register",
                 "/products?min_price=abc", "/nowhere"):
        page.goto(live_server + path)
        pages[path] = problems(page)
    log_in(page, live_server, shop["email"])
    page.goto(f"{live_server}/products/{shop['pan']}")
    with page.expect_navigation():
        page.get_by_test_id("add-to-cart-submit").click()
    for path in ("/cart", "/checkout", "/orders", f"/orders/{shop['order']}"):
        page.goto(live_server + path)
        pages[path] = problems(page)
    page.goto(live_server + "/checkout")
    page.get_by_test_id("place-order").click()  # empty fields: the browser's own checks
    page.get_by_label("Card number").evaluate("field => field.form.noValidate = true")
    with page.expect_navigation():
        page.get_by_test_id("place-order").click()
    pages["checkout with errors"] = problems(page)
    assert {path: found for path, found in pages.items() if found} == {}


def fill(page, fields: dict[str, str]) -> None:
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)


GUEST = {"E-mail": "guest@example.com", "Name": "Ada Lovelace", "Street and number": "12 Analytical St",
         "City": "London", "Postal code": "N1 7AA", "Country (2 letters)": "GB", "Card number": "4000 0000 0000 3220",
         "Expiry month": "12", "Expiry year": "2035", "CVC": "123"}


def claim_link() -> str:
    import re

    from shop.extensions import db
    from shop.outbox import OutboxEvent

    db.session.expire_all()
    text = db.session.scalars(db.select(OutboxEvent.payload).where(OutboxEvent.topic == "account.claim_email")).one()
    return re.search(r"/register/claim/\S+", text["text"]).group(0)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_guests_pages_fit_the_screen_and_pass_axe(chromium, live_server, shop, app, width):
    """A guest's way: the empty cart, the guest checkout (and its errors), the order awaiting the
    bank, the tracking page, registering with the address and the e-mailed link, and cancelling
    the paid order."""
    app.config["SANDBOX_CONFIRMATION_SECONDS"] = 3600
    page = open_page(chromium, *WIDTHS[width])
    pages = {}
    page.goto(live_server + "/cart")
    pages["/cart (empty)"] = problems(page)
    page.goto(f"{live_server}/products/{shop['pan']}")
    with page.expect_navigation():
        page.get_by_test_id("add-to-cart-submit").click()
    page.goto(live_server + "/checkout")
    pages["/checkout (guest)"] = problems(page)
    page.get_by_label("Card number").evaluate("field => field.form.noValidate = true")
    with page.expect_navigation():
        page.get_by_test_id("place-order").click()
    pages["guest checkout with errors"] = problems(page)
    fill(page, GUEST)
    page.get_by_test_id("place-order").click()
    page.get_by_test_id("awaiting-confirmation").wait_for()
    pages["order awaiting the bank"] = problems(page)
    page.goto(live_server + "/track?tracking_number=NOPE&postal_code=N1")
    pages["/track (not found)"] = problems(page)
    page.goto(live_server + "/register")
    fill(page, {"Name": "Ada", "Email": "guest@example.com", "Password (at least 8 characters)": "a-long-password"})
    page.get_by_test_id("register-submit").click()
    page.get_by_test_id("claim-sent").wait_for()
    pages["registering with a guest's address"] = problems(page)
    page.goto(live_server + claim_link())
    pages["the e-mailed claim link"] = problems(page)
    page.get_by_label("Password (at least 8 characters)").fill("a-long-password")
    page.get_by_test_id("claim-submit").click()
    page.wait_for_url(live_server + "/orders")
    pages["/orders (claimed)"] = problems(page)
    app.config["SANDBOX_CONFIRMATION_SECONDS"] = 0
    page.locator('[data-test="order-row"] a').first.click()
    page.get_by_test_id("cancel-order").click()
    page.get_by_test_id("cancel-consequence").wait_for()
    pages["cancelling a paid order"] = problems(page)
    assert {path: found for path, found in pages.items() if found} == {}
