"""Storefront cart, account and checkout pages through the Flask client (forms, CSRF, flashes)."""

from __future__ import annotations

import re

import pytest

from shop.cart.models import CartLine
from shop.extensions import db
from shop.models import Order

from .factories import PASSWORD, make_product, make_user


def csrf(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def add_to_cart(client, product_id: int, quantity: int = 1):
    return client.post("/cart/items", data={"product_id": product_id, "quantity": quantity,
                                            "csrf_token": csrf(client, f"/products/{product_id}")})


def log_in(client, user) -> None:
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "csrf_token": csrf(client, "/login")})
    assert response.status_code == 302


ADDRESS = {"name": "Ada Lovelace", "line1": "12 Analytical St", "city": "London", "postal_code": "N1 7AA",
           "country": "GB"}
CARD = {"card_number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "2035", "cvc": "123"}


def test_a_form_post_without_the_csrf_token_is_refused(client):
    product = make_product()
    response = client.post("/cart/items", data={"product_id": product.id})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


def test_add_to_cart_shows_the_priced_cart(client):
    product = make_product(name="Copper Kettle", price_cents=2500)
    response = add_to_cart(client, product.id, 2)
    assert response.status_code == 302
    page = client.get("/cart").get_data(as_text=True)
    assert "Copper Kettle" in page
    assert 'data-test="quote-total"' in page
    assert "Added to your cart." in page


def test_adding_more_than_in_stock_flashes_why(client):
    product = make_product(stock=1)
    add_to_cart(client, product.id, 5)
    assert "Only 1 of " in client.get("/cart").get_data(as_text=True)


@pytest.mark.parametrize("quantity", ["0", "-1", "abc", "100000"])
def test_bad_quantities_are_a_friendly_400(client, quantity):
    product = make_product()
    response = client.post("/cart/items", data={"product_id": product.id, "quantity": quantity,
                                                "csrf_token": csrf(client)})
    assert response.status_code == 400
    assert response.mimetype == "text/html"


def test_changing_a_line_beyond_the_line_limit_is_refused_naming_quantity(client, app):
    app.config["MAX_LINE_QUANTITY"] = 5
    product = make_product(stock=100)
    add_to_cart(client, product.id, 2)
    response = client.post(f"/cart/items/{product.id}", data={"quantity": "50", "csrf_token": csrf(client, "/cart")})
    assert response.status_code == 422
    assert "quantity" in response.get_data(as_text=True)
    assert "at most 5" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalars(db.select(CartLine.quantity)).one() == 2


def test_the_cart_page_offers_quantities_up_to_the_line_limit(client, app):
    app.config["MAX_LINE_QUANTITY"] = 5
    product = make_product(stock=100)
    add_to_cart(client, product.id)
    assert f'id="qty-{product.id}" name="quantity" type="number" min="1" max="5"' in client.get("/cart").get_data(
        as_text=True)


def test_checkout_offers_a_guest_checkout_or_a_login_that_keeps_the_cart(client):
    product = make_product()
    user = make_user()
    add_to_cart(client, product.id)
    as_guest = client.get("/checkout").get_data(as_text=True)
    assert 'data-test="guest-contact"' in as_guest and 'href="/login?next=/checkout"' in as_guest
    log_in(client, user)
    logged_in = client.get("/checkout").get_data(as_text=True)
    assert "checkout-form" in logged_in and 'data-test="guest-contact"' not in logged_in


def test_checkout_places_and_pays_the_order(client):
    product = make_product(price_cents=1000, stock=5)
    user = make_user()
    log_in(client, user)
    add_to_cart(client, product.id, 2)
    response = client.post("/checkout", data={**ADDRESS, **CARD, "csrf_token": csrf(client, "/checkout")})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-test="order-status">paid<' in page
    order = db.session.scalars(db.select(Order)).one()
    assert order.status == "paid"
    assert order.customer_id == user.id
    assert 'data-test="cart-count"' not in page  # the nav no longer counts what was bought
    assert 'data-test="cart-empty"' in client.get("/cart").get_data(as_text=True)


def test_a_declined_card_leaves_the_order_payable(client):
    product = make_product(stock=5)
    log_in(client, make_user())
    add_to_cart(client, product.id)
    response = client.post("/checkout", data={**ADDRESS, **CARD, "card_number": "4000000000000002",
                                              "csrf_token": csrf(client, "/checkout")})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Payment failed" in page
    assert 'data-test="pay-form"' in page


def test_a_bad_address_takes_no_stock(client):
    product = make_product(stock=5)
    log_in(client, make_user())
    add_to_cart(client, product.id)
    response = client.post("/checkout", data={**ADDRESS, **CARD, "country": "Great Britain",
                                              "csrf_token": csrf(client, "/checkout")})
    assert response.status_code == 422
    assert "country" in response.get_data(as_text=True)
    assert db.session.scalars(db.select(Order)).all() == []


def test_orders_of_others_are_not_found(client, app):
    product = make_product(stock=5)
    owner, stranger = make_user(), make_user()
    log_in(client, owner)
    add_to_cart(client, product.id)
    location = client.post("/checkout", data={**ADDRESS, **CARD, "csrf_token": csrf(client, "/checkout")}
                           ).headers["Location"]
    other = app.test_client()
    log_in(other, stranger)
    assert other.get(location).status_code == 404
    assert "#" not in other.get("/orders").get_data(as_text=True).split("<h1>Your orders</h1>")[1].split("</main>")[0]


def test_register_logs_in(client):
    response = client.post("/register", data={"name": "Grace", "email": "grace@example.com",
                                              "password": "a-long-password", "csrf_token": csrf(client, "/register")})
    assert response.status_code == 302
    assert "Log out Grace" in client.get("/").get_data(as_text=True)


def test_wrong_password_is_a_401_page(client):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": "nope",
                                           "csrf_token": csrf(client, "/login")})
    assert response.status_code == 401
    assert "wrong" in response.get_data(as_text=True)


def test_login_redirect_stays_on_this_site(client):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "next": "//evil.example/",
                                           "csrf_token": csrf(client, "/login")})
    assert response.headers["Location"] == "/"
