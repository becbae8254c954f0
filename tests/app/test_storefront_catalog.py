"""Storefront catalog pages through the Flask client: home, listing and search, product page."""

from __future__ import annotations

import re

import pytest

from shop.catalog import service

from .factories import make_category, make_past_order, make_product, make_user


@pytest.fixture
def shelf(app):
    kitchen, outdoor = make_category("Kitchen"), make_category("Outdoor")
    shop = {
        "pan": make_product(kitchen, name="Copper Frying Pan", price_cents=4599, stock=7),
        "spatula": make_product(kitchen, name="Wooden Spatula", price_cents=900),
        "board": make_product(kitchen, name="Oak Cutting Board", price_cents=1900, stock=0),
        "backpack": make_product(outdoor, name="Rugged Hiking Backpack", price_cents=8900),
    }
    customer = make_user()
    for _ in range(2):
        make_past_order(customer, [(shop["pan"], 1), (shop["spatula"], 1)])
    return shop


def cards(html: str) -> list[str]:
    return re.findall(r'data-test="product-card" data-product-id="(\d+)"', html)


def test_home_shows_categories_featured_products_and_the_search_box(client, shelf):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-test="search-box"' in html and '<label for="search-box"' in html
    assert 'href="/products?category=kitchen"' in html and "Outdoor" in html
    assert len(cards(html)) == 4
    assert 'href="/login"' in html and 'href="/cart"' in html


def test_listing_searches_filters_and_pages(client, shelf):
    search = client.get("/products?q=pans").get_data(as_text=True)
    assert cards(search) == [str(shelf["pan"].id)]
    assert "Results for “pans”" in search and 'value="pans"' in search
    assert "€45.99" in search

    filtered = client.get("/products?category=kitchen&sort=price_desc&q=&min_price_cents=").get_data(as_text=True)
    assert cards(filtered) == [str(shelf[name].id) for name in ("pan", "board", "spatula")]
    assert "Out of stock" in filtered

    first = client.get("/products?per_page=3&sort=name").get_data(as_text=True)
    second = client.get("/products?per_page=3&sort=name&page=2").get_data(as_text=True)
    assert len(cards(first)) == 3 and len(cards(second)) == 1
    assert 'data-test="next-page" href="/products?per_page=3&amp;sort=name&amp;page=2"' in first
    assert 'data-test="prev-page"' in second and 'data-test="next-page"' not in second


def test_a_search_without_results_says_so(client, shelf):
    html = client.get("/products?q=unicorn").get_data(as_text=True)
    assert 'data-test="no-results"' in html and "0 products" in html


def test_product_page_has_details_recommendations_and_an_add_to_cart_form(client, shelf):
    pan = shelf["pan"]
    response = client.get(f"/products/{pan.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<h1 data-test="product-name">Copper Frying Pan</h1>' in html
    assert "7 in stock" in html and pan.sku in html
    assert 'action="/cart/items" method="post" data-test="add-to-cart"' in html
    assert f'name="product_id" value="{pan.id}"' in html and '<label for="quantity">' in html
    assert cards(html)[0] == str(shelf["spatula"].id)
    assert "Often bought together" in html


def test_product_page_shows_stock_changes(client, shelf):
    pan = shelf["pan"]
    assert "7 in stock" in client.get(f"/products/{pan.id}").get_data(as_text=True)
    service.set_stock(pan.id, 0)
    html = client.get(f"/products/{pan.id}").get_data(as_text=True)
    assert "Out of stock" in html and 'data-test="add-to-cart"' not in html


def test_the_nav_counts_the_session_cart(client, shelf):
    cart = client.post("/api/v1/carts").json
    client.post(f"/api/v1/carts/{cart['id']}/items", json={"product_id": shelf["pan"].id, "quantity": 3})
    with client.session_transaction() as session:
        session["cart_id"] = cart["id"]
    assert '<span data-test="cart-count">3</span>' in client.get("/").get_data(as_text=True)


def test_a_logged_in_shopper_sees_a_logout_button(client, shelf):
    user = make_user(name="Ada")
    with client.session_transaction() as session:
        session["uid"] = user.id
    html = client.get("/products").get_data(as_text=True)
    assert "Log out Ada" in html and 'href="/login"' not in html


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/products/999999", 404),
        ("/products?min_price_cents=-5", 422),
        ("/products?sort=cheapest", 422),
        ("/nowhere", 404),
    ],
)
def test_errors_are_friendly_pages(client, shelf, path, status):
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert 'data-test="error"' in response.get_data(as_text=True)


def test_the_stylesheet_is_served(client):
    response = client.get("/static/shop.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    response.close()
