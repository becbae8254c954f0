"""A support conversation in Chromium: a shopper asks where their parcel is, the ticket is
classified shipping, staff answer from the console, and the shopper reads the answer. The support
pages fit a phone's screen and pass axe-core. Screenshots land in tests/app/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from .factories import make_order, make_user
from .test_storefront_browser_pages import WIDTHS, chromium, log_in, open_page, problems  # noqa: F401 - browser

SCREENSHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def people(app) -> dict:
    customer = make_user(name="Ada")
    staff = make_user("staff", name="Sam")
    order = make_order(customer, status="shipped")
    return {"customer": customer.email, "staff": staff.email, "order": order["id"]}


def test_a_shopper_asks_where_their_parcel_is_and_reads_staffs_answer(chromium, live_server, people):  # noqa: F811
    shopper = open_page(chromium, *WIDTHS["desktop"])
    log_in(shopper, live_server, people["customer"])
    shopper.goto(f"{live_server}/orders/{people['order']}")
    shopper.get_by_test_id("ask-about-order").click()
    shopper.get_by_label("Subject").fill("where is my parcel")
    shopper.get_by_label("Your message").fill("Hi, the order was shipped last week but nothing has come yet. "
                                              "Tracking has not moved since Monday.")
    shopper.get_by_test_id("send-ticket").click()
    expect(shopper.get_by_test_id("ticket-status")).to_have_text("open")
    ticket_url = shopper.url
    shopper.screenshot(path=SCREENSHOTS / "support-question.png", full_page=True)

    staff = open_page(chromium, *WIDTHS["desktop"])
    log_in(staff, live_server, people["staff"])
    staff.get_by_test_id("console-link").click()
    staff.get_by_test_id("console-nav").get_by_role("link", name="Tickets").click()
    staff.get_by_label("Category").select_option("shipping")
    staff.get_by_test_id("filter").click()
    staff.get_by_role("link", name="where is my parcel").click()
    expect(staff.get_by_test_id("ticket-category")).to_have_text("shipping")
    staff.get_by_label("Answer").fill("Sorry for the wait, Ada: the carrier has it at the London hub and "
                                      "delivers it tomorrow.")
    staff.get_by_test_id("send-answer").click()
    expect(staff.get_by_test_id("ticket-status")).to_have_text("pending")
    staff.screenshot(path=SCREENSHOTS / "support-console-ticket.png", full_page=True)

    shopper.goto(ticket_url)
    answer = shopper.locator('[data-test="message"][data-author="staff"]')
    expect(answer).to_contain_text("delivers it tomorrow")
    expect(answer).to_contain_text("Sam (shopstack support)")
    shopper.screenshot(path=SCREENSHOTS / "support-answer.png", full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_support_pages_fit_the_screen_and_pass_axe(chromium, live_server, people, width):  # noqa: F811
    page = open_page(chromium, *WIDTHS[width])
    log_in(page, live_server, people["customer"])
    page.goto(f"{live_server}/support/new?order_id={people['order']}")
    page.get_by_label("Subject").fill("The teapot lid does not fit")
    page.get_by_label("Your message").fill("The lid wobbles and tea spills when I pour.")
    page.get_by_test_id("send-ticket").click()
    ticket_url = page.url
    found = {}
    for path in ("/support", "/support/new", ticket_url.removeprefix(live_server)):
        page.goto(live_server + path)
        found[path] = problems(page)
    assert found == {path: [] for path in found}


def test_the_console_ticket_pages_pass_axe(chromium, live_server, people):  # noqa: F811
    page = open_page(chromium, *WIDTHS["desktop"])
    log_in(page, live_server, people["staff"])
    page.goto(f"{live_server}/support/new")
    page.get_by_label("Subject").fill("Charged twice")
    page.get_by_label("Your message").fill("My card shows two charges for one order.")
    page.get_by_test_id("send-ticket").click()
    ticket = page.url.rsplit("/", 1)[-1]
    found = {}
    for path in (f"/console/tickets/{ticket}", "/console/tickets"):
        page.goto(live_server + path)
        found[path] = problems(page)
    page.screenshot(path=SCREENSHOTS / "support-console-queue.png", full_page=True)
    assert found == {path: [] for path in found}
