"""The staff console: server-rendered pages for staff only (anyone else is told they do not exist).

One blueprint per section, as the storefront has one per module; each is made by
`console_blueprint`, which refuses non-staff (404), checks every form post's CSRF token and NULs,
and gives the section's templates the console's navigation. The pages call the modules' services;
no business rule lives here."""

from __future__ import annotations

from flask import Blueprint

from ..accounts.auth import current_user
from ..errors import NotFound
from ..storefront.forms import check_csrf, check_form_text

URL_PREFIX = "/console"

# The console's navigation, in the order shown: (endpoint, label).
SECTIONS = [
    ("console_home.home", "Home"),
    ("console_orders.order_list", "Orders"),
    ("console_catalog.product_list", "Catalog and stock"),
    ("console_forecast.restock", "Sales forecast"),
    ("console_tickets.queue", "Tickets"),
    ("console_reviews.review_list", "Reviews"),
    ("console_dead_letters.dead_letter_list", "Dead letters"),
]


def staff_only() -> None:
    user = current_user()
    if user is None or not user.is_staff:
        raise NotFound("Page")


def console_blueprint(name: str, import_name: str) -> Blueprint:
    bp = Blueprint(name, import_name, url_prefix=URL_PREFIX)
    # Who may see the page comes first: a stranger's post is a 404, not a CSRF refusal.
    bp.before_request(staff_only)
    bp.before_request(check_csrf)
    bp.before_request(check_form_text)
    bp.context_processor(lambda: {"console_sections": SECTIONS})
    return bp


def blueprints() -> tuple[Blueprint, ...]:
    from . import catalog, dead_letters, forecast, home, orders, reviews, tickets

    return home.bp, orders.bp, tickets.bp, catalog.bp, forecast.bp, reviews.bp, dead_letters.bp
