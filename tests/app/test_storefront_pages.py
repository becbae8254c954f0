"""The storefront as shoppers expect it (issue 11): what the cart, checkout and order pages say,
and how the forms answer mistakes. Through the Flask client."""

from __future__ import annotations

import re
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest

from shop.cart.models import Coupon
from shop.columns import utcnow
from shop.extensions import db
from shop.models import Order, Product, Promotion, User

from .factories import PASSWORD, make_product, make_user
from .test_storefront_checkout import ADDRESS, CARD, add_to_cart, csrf, log_in


def cents(text: str) -> int:
    """The amount of money a rendered row shows, in cents, whatever the currency's sign or place."""
    sign, digits = re.search(r"([−-]?)[^0-9−-]{0,4}([0-9][0-9,]*\.[0-9]{2})", re.sub(r"<[^>]+>", "", text)).groups()
    value = int(digits.replace(",", "").replace(".", ""))
    return -value if sign else value


def quote_rows(page: str) -> tuple[list[int], list[int], int]:
    """(line totals, the rows between them and the total, the total) as a page shows them."""
    lines = [cents(text) for text in re.findall(r'data-test="line-total"[^>]*>(.*?)</td>', page, re.S)]
    rows = [cents(text) for text in re.findall(r'data-test="quote-row"[^>]*>(.*?)</dd>', page, re.S)]
    total = cents(re.search(r'data-test="quote-total"[^>]*>(.*?)</dd>', page, re.S).group(1))
    return lines, rows, total


def free_shipping_cart(client):
    """A cart with every kind of row: a line promotion, a coupon, and shipping waived."""
    db.session.add(Promotion(name="Free shipping over 50.00", kind="free_shipping", threshold_cents=5000))
    db.session.add(Promotion(name="Ten off kettles", kind="percent", percent=10))
    db.session.add(Coupon(code="FIVEOFF", kind="fixed", amount_cents=500))
    db.session.commit()
    product = make_product(name="Copper Kettle", price_cents=3000, stock=10)
    add_to_cart(client, product.id, 2)
    client.post("/cart/coupon", data={"code": "fiveoff", "csrf_token": csrf(client, "/cart")})
    return product


def assert_rows_add_up(page: str) -> None:
    lines, rows, total = quote_rows(page)
    assert len(rows) == 4, rows  # subtotal, coupon, shipping, tax
    assert lines and rows[0] == sum(lines), (lines, rows)
    assert sum(rows) == total, (rows, total)


def test_the_cart_rows_add_up_to_the_total(client):
    free_shipping_cart(client)
    assert_rows_add_up(client.get("/cart").get_data(as_text=True))


def test_the_checkout_rows_add_up_to_the_total(client):
    free_shipping_cart(client)
    log_in(client, make_user())
    assert_rows_add_up(client.get("/checkout").get_data(as_text=True))


def test_the_order_rows_add_up_to_the_total(client):
    free_shipping_cart(client)
    log_in(client, make_user())
    client.post("/checkout", data={**ADDRESS, **CARD, "csrf_token": csrf(client, "/checkout")})
    order_id = db.session.scalars(db.select(Order.id)).one()
    assert_rows_add_up(client.get(f"/orders/{order_id}").get_data(as_text=True))


def checkout_with(client, **changes):
    log_in(client, make_user())
    return client.post("/checkout", data={**ADDRESS, **CARD, **changes, "csrf_token": csrf(client, "/checkout")})


@pytest.mark.parametrize("card", [{"card_number": "4242 4242 4242 4241"}, {"exp_month": "1", "exp_year": "2020"}])
def test_a_mistyped_or_expired_card_places_no_order(client, card):
    product = make_product(stock=5)
    add_to_cart(client, product.id, 2)
    response = checkout_with(client, **card)
    assert response.status_code == 422
    assert db.session.scalars(db.select(Order)).all() == []
    db.session.expire_all()
    assert db.session.get(Product, product.id).stock == 5
    assert 'data-test="cart-count">2<' in client.get("/cart").get_data(as_text=True)


def field_error(page: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field}-error"[^>]*>(.*?)</p>', page, re.S)
    return found.group(1).strip() if found else ""


@pytest.mark.parametrize(("changes", "field", "sentence"), [
    ({"card_number": "4242 4242 4242 4241"}, "card_number", "The card number is not valid."),
    ({"cvc": "12"}, "cvc", "Enter the 3 or 4 digits printed on the back of the card."),
    ({"country": "Great Britain"}, "country", "Enter the country as two letters, e.g. GB."),
])
def test_form_errors_are_plain_sentences_beside_the_field(client, changes, field, sentence):
    add_to_cart(client, make_product().id)
    page = checkout_with(client, **changes).get_data(as_text=True)
    assert field_error(page, field) == sentence
    assert f'aria-describedby="{field}-error"' in page


def test_the_checkout_form_comes_back_filled_in_except_the_card_number_and_cvc(client):
    add_to_cart(client, make_product().id)
    page = checkout_with(client, country="Great Britain").get_data(as_text=True)
    assert 'value="12 Analytical St"' in page
    assert 'value="2035"' in page
    assert "4242" not in page.replace("4242 4242 4242 4242 succeeds", "")
    assert 'value="123"' not in page


def test_a_stock_error_names_the_product(client):
    product = make_product(name="Copper Kettle", stock=1)
    add_to_cart(client, product.id, 5)
    assert "Copper Kettle" in client.get("/cart").get_data(as_text=True).split("flash-error", 1)[1][:300]


@pytest.mark.parametrize(("left", "sentence"), [(1, "Only 1 of Copper Kettle left, and your cart has 3"),
                                                (0, "Copper Kettle sold out while you were checking out")])
def test_a_stock_error_at_checkout_names_the_product_and_no_id(client, left, sentence):
    from shop.catalog.service import set_stock

    product = make_product(name="Copper Kettle", stock=5)
    add_to_cart(client, product.id, 3)
    set_stock(product.id, left)
    response = checkout_with(client)
    assert response.headers["Location"] == "/cart"
    flashed = client.get("/cart").get_data(as_text=True).split("flash-error", 1)[1][:300]
    assert sentence in flashed and "product " not in flashed


def test_a_short_password_is_a_sentence_beside_the_field_and_the_rest_is_kept(client):
    response = client.post("/register", data={"name": "Grace", "email": "grace@example.com", "password": "short",
                                              "csrf_token": csrf(client, "/register")})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(page, "password") == "Choose a password of at least 8 characters."
    assert 'value="grace@example.com"' in page and 'value="Grace"' in page and 'value="short"' not in page


# --- coming back to where the shopper was ------------------------------------------------------

def login_form_next(page: str) -> str:
    return re.search(r'name="next" value="([^"]*)"', page).group(1)


def test_a_wrong_password_keeps_the_way_back_to_checkout(client):
    user = make_user()
    add_to_cart(client, make_product().id)
    login_page = client.get("/login?next=/checkout").get_data(as_text=True)
    wrong = client.post("/login", data={"email": user.email, "password": "nope", "next": login_form_next(login_page),
                                        "csrf_token": csrf(client, "/login")})
    right = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                        "next": login_form_next(wrong.get_data(as_text=True)),
                                        "csrf_token": csrf(client, "/login")})
    assert right.headers["Location"] == "/checkout"


def test_registering_from_checkout_returns_to_checkout(client):
    response = client.post("/register", data={"name": "Grace", "email": "grace@example.com", "next": "/checkout",
                                              "password": "a-long-password", "csrf_token": csrf(client, "/register")})
    assert response.headers["Location"] == "/checkout"


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example", "https://evil.example/", "/\tevil"])
def test_registering_goes_back_only_to_this_site(client, target):
    response = client.post("/register", data={"name": "Grace", "email": "grace@example.com", "next": target,
                                              "password": "a-long-password", "csrf_token": csrf(client, "/register")})
    assert response.headers["Location"] == "/"


def test_the_login_link_comes_back_to_the_page_it_is_on(client):
    product = make_product()
    page = client.get(f"/products/{product.id}").get_data(as_text=True)
    assert f'href="/login?next=/products/{product.id}"' in page


# --- price filters in the shop's currency ------------------------------------------------------

def test_price_filters_are_in_currency_units(client):
    cheap, dear = make_product(price_cents=1500), make_product(price_cents=3500)
    page = client.get("/products?min_price=20&max_price=50").get_data(as_text=True)
    assert f'data-product-id="{dear.id}"' in page and f'data-product-id="{cheap.id}"' not in page
    assert 'name="min_price"' in page and 'value="20"' in page


@pytest.mark.parametrize(("query", "field"), [("min_price=abc", "min_price"), ("max_price=-5", "max_price"),
                                              ("min_price=50&max_price=20", "max_price")])
def test_bad_prices_are_form_errors(client, query, field):
    response = client.get(f"/products?{query}")
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), field)


# --- orders -------------------------------------------------------------------------------------

def test_orders_are_paged_newest_first(client, app):
    from .factories import make_order

    user = make_user()
    ids = [make_order(user)["id"] for _ in range(23)]
    log_in(client, user)
    first = client.get("/orders").get_data(as_text=True)
    second = client.get("/orders?page=2").get_data(as_text=True)
    listed = [int(found) for found in re.findall(r'data-test="order-row" data-order-id="(\d+)"', first + second)]
    assert listed == sorted(ids, reverse=True)
    assert 'data-test="next-page" href="/orders?page=2"' in first


def test_staff_see_only_their_own_orders_under_your_orders(client):
    from .factories import make_order

    customer, staff = make_user(), make_user(role="staff")
    make_order(customer)
    log_in(client, staff)
    assert 'data-test="order-row"' not in client.get("/orders").get_data(as_text=True)


def paid_order(client) -> int:
    log_in(client, make_user())
    add_to_cart(client, make_product(stock=5).id)
    client.post("/checkout", data={**ADDRESS, **CARD, "csrf_token": csrf(client, "/checkout")})
    return db.session.scalars(db.select(Order.id)).one()


def test_cancelling_a_paid_order_asks_first_saying_what_happens_to_the_payment(client):
    order_id = paid_order(client)
    response = client.post(f"/orders/{order_id}/cancel", data={"csrf_token": csrf(client, f"/orders/{order_id}")})
    assert response.status_code == 200
    assert "refunded to the card ending 4242" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Order, order_id).status == "paid"


def test_a_confirmed_cancellation_cancels_the_paid_order(client):
    order_id = paid_order(client)
    client.post(f"/orders/{order_id}/cancel", data={"confirmed": "yes",
                                                   "csrf_token": csrf(client, f"/orders/{order_id}")})
    db.session.expire_all()
    assert db.session.get(Order, order_id).status == "cancelled"


# --- the cart stays with the account ------------------------------------------------------------

def test_a_customers_cart_follows_them_to_another_browser(client, app):
    user, product = make_user(), make_product(name="Copper Kettle")
    log_in(client, user)
    add_to_cart(client, product.id, 2)
    other_browser = app.test_client()
    log_in(other_browser, user)
    assert 'data-test="cart-count">2<' in other_browser.get("/cart").get_data(as_text=True)


def test_a_guest_cart_merges_into_the_cart_kept_on_the_account(client, app):
    user, kettle, pan = make_user(), make_product(), make_product()
    log_in(client, user)
    add_to_cart(client, kettle.id, 1)
    other_browser = app.test_client()
    add_to_cart(other_browser, pan.id, 1)
    log_in(other_browser, user)
    assert 'data-test="cart-count">2<' in other_browser.get("/cart").get_data(as_text=True)


def session_cookie(response):
    return next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("session="))


def test_remember_me_keeps_the_login_for_the_configured_lifetime(client, app):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "yes",
                                           "csrf_token": csrf(client, "/login")})
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", session_cookie(response)).group(1))
    kept = expires - utcnow()
    assert kept > app.config["PERMANENT_SESSION_LIFETIME"] - timedelta(minutes=1)
    assert timedelta(days=7) <= app.config["PERMANENT_SESSION_LIFETIME"] <= timedelta(days=90)


def test_without_remember_me_the_login_ends_with_the_browser(client):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "csrf_token": csrf(client, "/login")})
    assert "Max-Age" not in session_cookie(response) and "Expires" not in session_cookie(response)


def test_a_guests_cart_outlives_the_browser(client, app):
    response = add_to_cart(client, make_product().id)
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", session_cookie(response)).group(1))
    assert expires - utcnow() > app.config["PERMANENT_SESSION_LIFETIME"] - timedelta(minutes=1)


# --- product pictures ---------------------------------------------------------------------------

def test_a_picture_is_drawn_from_the_category_and_name_alone():
    from shop.catalog.images import draw

    assert draw("Kitchen", "Copper Kettle") == draw("Kitchen", "Copper Kettle")
    assert draw("Kitchen", "Copper Kettle") != draw("Garden", "Copper Kettle")


def test_seeding_gives_every_product_a_picture(app):
    from shop.catalog.models import ProductImage
    from shop.seed import seed_demo

    seed_demo(products_per_category=6, orders=3, progress=lambda _: None)
    products = db.session.scalars(db.select(Product)).all()
    images = db.session.scalars(db.select(ProductImage)).all()
    assert {image.product_id for image in images} == {product.id for product in products}


def pictured_product(name: str = "Copper Kettle"):
    from shop.catalog.images import give_images

    product = make_product(name=name, stock=10)
    give_images([(product.id, product.category.name, product.name)])
    db.session.commit()
    return product


def test_a_picture_is_kept_a_year_under_its_fingerprint(client):
    product = pictured_product()
    url = client.get(f"/api/v1/products/{product.id}").get_json()["image_url"]
    response = client.get(url)
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get("/images/products/0000000000000000.svg").status_code == 404


def test_pictures_with_alt_text_show_on_listing_product_cart_and_order_pages(client):
    product = pictured_product()
    log_in(client, make_user())
    add_to_cart(client, product.id)
    client.post("/checkout", data={**ADDRESS, **CARD, "csrf_token": csrf(client, "/checkout")})
    order_id = db.session.scalars(db.select(Order.id)).one()
    add_to_cart(client, product.id)
    for path in ("/products", f"/products/{product.id}", "/cart", f"/orders/{order_id}"):
        assert re.search(r'<img[^>]+src="/images/products/[0-9a-f]{16}\.svg"[^>]+alt="Copper Kettle"',
                         client.get(path).get_data(as_text=True)), path


# --- guest checkout -----------------------------------------------------------------------------

def guest_checkout(client, email: str = "guest@example.com", **changes):
    add_to_cart(client, make_product(name="Copper Kettle", stock=5).id)
    return client.post("/checkout", data={**ADDRESS, **CARD, "email": email, **changes,
                                          "csrf_token": csrf(client, "/checkout")})


def guest_link(page: str) -> str:
    return re.search(r'data-test="guest-order-link"[^>]*href="([^"]+)"', page).group(1)


def test_a_guest_checks_out_with_an_email_address(client):
    response = guest_checkout(client)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-test="order-status">paid<' in page
    order = db.session.scalars(db.select(Order)).one()
    assert db.session.get(User, order.customer_id).email == "guest@example.com"


def test_a_guest_order_is_reachable_through_its_signed_link_from_another_browser(client, app):
    page = client.get(guest_checkout(client).headers["Location"]).get_data(as_text=True)
    other_browser = app.test_client()
    shown = other_browser.get(other_browser.get(guest_link(page)).headers["Location"])
    assert 'data-test="order-status">paid<' in shown.get_data(as_text=True)


def test_a_tampered_guest_link_shows_nothing(client, app):
    page = client.get(guest_checkout(client).headers["Location"]).get_data(as_text=True)
    assert app.test_client().get(guest_link(page) + "x").status_code == 404


def test_a_guest_cannot_check_out_as_an_existing_account(client):
    user = make_user()
    response = guest_checkout(client, email=user.email)
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "email")
    assert db.session.scalars(db.select(Order)).all() == []


# --- prices as the shop is configured -----------------------------------------------------------

def test_prices_are_formatted_for_the_shops_locale(client, app):
    app.config["SHOP_LOCALE"] = "de_DE"
    product = make_product(price_cents=4599)
    assert "45,99\xa0€" in client.get(f"/products/{product.id}").get_data(as_text=True)


def test_shelf_prices_include_tax_when_the_shop_says_so(client, app):
    app.config.update(PRICES_INCLUDE_TAX=True, TAX_RATE_BPS=2000)
    product = make_product(price_cents=1000)
    page = client.get(f"/products/{product.id}").get_data(as_text=True)
    assert "€12.00" in page and "incl. 20% tax" in page


def test_shelf_prices_exclude_tax_by_default(client):
    product = make_product(price_cents=1000)
    page = client.get(f"/products/{product.id}").get_data(as_text=True)
    assert "€10.00" in page and "excl. tax" in page


def test_the_product_page_names_the_promotions_that_apply(client):
    product, other = make_product(), make_product()
    db.session.add_all([Promotion(name="Ten off this kettle", kind="percent", percent=10, product_id=product.id),
                        Promotion(name="Five off something else", kind="percent", percent=5, product_id=other.id)])
    db.session.commit()
    page = client.get(f"/products/{product.id}").get_data(as_text=True)
    assert "Ten off this kettle" in page and "Five off something else" not in page


# --- a confirmation to keep ---------------------------------------------------------------------

def confirmation_emails() -> list[dict]:
    from shop.outbox import OutboxEvent

    db.session.expire_all()
    return [event.payload for event in db.session.scalars(db.select(OutboxEvent)
                                                          .where(OutboxEvent.topic == "order.confirmation_email"))]


def test_checkout_writes_the_confirmation_email_to_the_outbox(client):
    user = make_user()
    log_in(client, user)
    add_to_cart(client, make_product(name="Copper Kettle", price_cents=1000).id)
    client.post("/checkout", data={**ADDRESS, **CARD, "csrf_token": csrf(client, "/checkout")})
    order_id = db.session.scalars(db.select(Order.id)).one()
    [email] = confirmation_emails()
    assert email["to"] == user.email and email["order_id"] == order_id
    assert f"Order #{order_id}" in email["subject"]
    for words in ("Copper Kettle", "12 Analytical St", "Total", f"/orders/{order_id}"):
        assert words in email["text"], words


def test_the_confirmation_email_rows_add_up_to_the_total(client):
    free_shipping_cart(client)
    log_in(client, make_user())
    client.post("/checkout", data={**ADDRESS, **CARD, "csrf_token": csrf(client, "/checkout")})
    [email] = confirmation_emails()
    rows = [cents(found) for found in re.findall(r"^  (?:Subtotal|Coupon|Shipping|Tax).*?: (.*)$", email["text"], re.M)]
    total = cents(re.search(r"^  Total: (.*)$", email["text"], re.M).group(1))
    assert len(rows) == 4 and sum(rows) == total, (rows, total)


def test_the_mail_consumer_logs_the_confirmation_email(client, caplog):
    caplog.set_level("INFO", logger="shop.mail")
    log_in(client, make_user())
    add_to_cart(client, make_product(name="Copper Kettle").id)
    client.post("/checkout", data={**ADDRESS, **CARD, "csrf_token": csrf(client, "/checkout")})
    order_id = db.session.scalars(db.select(Order.id)).one()
    logged = [record.getMessage() for record in caplog.records if record.name == "shop.mail"]
    assert any(f"Order #{order_id}" in message and "Copper Kettle" in message for message in logged), logged


def test_a_guests_confirmation_email_carries_the_signed_link(client):
    page = client.get(guest_checkout(client).headers["Location"]).get_data(as_text=True)
    [email] = confirmation_emails()
    assert guest_link(page) in email["text"]


def test_the_stylesheet_prints_an_order_without_navigation_or_forms(client):
    sheet = client.get("/static/shop.css")
    css = sheet.get_data(as_text=True)
    sheet.close()
    printed = re.search(r"@media print \{(.*?)\n\}", css, re.S).group(1)
    assert ".site-header" in printed and "form" in printed and "display: none" in printed
