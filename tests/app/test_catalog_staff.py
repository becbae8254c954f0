"""Staff changes to products and stock: who may, what is refused, and that caches follow."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from shop.catalog import service
from shop.catalog.cache import invalidate_products
from shop.catalog.models import Product
from shop.extensions import db

from .factories import auth_headers, make_category, make_product, make_user


@pytest.fixture
def staff(app):
    return auth_headers(make_user(role="staff"))


@pytest.fixture
def product(app):
    return make_product(make_category("Kitchen"), name="Copper Frying Pan", price_cents=4500, stock=10)


def new_product(**changes) -> dict:
    return {
        "sku": "PAN-001",
        "name": "Steel Wok",
        "description": "Round.",
        "category": "kitchen",
        "price_cents": 3900,
        "stock": 5,
        **changes,
    }


STAFF_CALLS = [
    ("post", "/api/v1/products", new_product()),
    ("patch", "/api/v1/products/{id}", {"price_cents": 100}),
    ("put", "/api/v1/products/{id}/stock", {"stock": 3}),
    ("post", "/api/v1/products/{id}/stock/adjustments", {"delta": 2}),
    ("get", "/api/v1/products/{id}/forecast", None),
]


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("customer", 403), ("staff", None)])
@pytest.mark.parametrize(("method", "path", "body"), STAFF_CALLS)
def test_only_staff_change_products(client, product, role, status, method, path, body):
    headers = auth_headers(make_user(role=role)) if role else {}
    response = getattr(client, method)(path.format(id=product.id), json=body, headers=headers)
    if status is None:
        assert response.status_code in (200, 201), response.json
    else:
        assert response.status_code == status
        assert response.mimetype == "application/problem+json"


def test_staff_create_a_product(client, product, staff):
    response = client.post("/api/v1/products", json=new_product(category=product.category_id), headers=staff)
    assert response.status_code == 201
    body = response.json
    assert response.headers["Location"] == f"/api/v1/products/{body['id']}"
    assert (body["sku"], body["name"], body["price_cents"], body["currency"], body["stock"]) == (
        "PAN-001",
        "Steel Wok",
        3900,
        "EUR",
        5,
    )
    assert body["category"]["slug"] == "kitchen"
    assert client.get(f"/api/v1/products/{body['id']}").json == body


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"price_cents": -1}, "price_cents"),
        ({"price_cents": 10**20}, "price_cents"),
        ({"price_cents": "12.50"}, "price_cents"),
        ({"price_cents": 12.5}, "price_cents"),
        ({"stock": -3}, "stock"),
        ({"stock": 2**40}, "stock"),
        ({"stock": True}, "stock"),
        ({"category": "nowhere"}, "category"),
        ({"category": 10**15}, "category"),
        ({"category": ["kitchen"]}, "category"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"sku": "has spaces"}, "sku"),
        ({"currency": "USD"}, "currency"),
    ],
)
def test_bad_products_are_a_4xx_naming_the_field(client, product, staff, changes, field):
    response = client.post("/api/v1/products", json=new_product(**changes), headers=staff)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["field"] == field


def test_a_missing_field_is_named(client, product, staff):
    body = new_product()
    del body["price_cents"]
    response = client.post("/api/v1/products", json=body, headers=staff)
    assert (response.status_code, response.json["field"]) == (422, "price_cents")


def test_a_taken_sku_is_a_conflict(client, product, staff):
    response = client.post("/api/v1/products", json=new_product(sku=product.sku), headers=staff)
    assert (response.status_code, response.json["field"]) == (409, "sku")
    other = make_product(product.category)
    response = client.patch(f"/api/v1/products/{other.id}", json={"sku": product.sku}, headers=staff)
    assert (response.status_code, response.json["field"]) == (409, "sku")


def test_staff_change_only_the_fields_sent(client, product, staff):
    garden = make_category("Garden")
    response = client.patch(
        f"/api/v1/products/{product.id}", json={"name": "Copper Sauté Pan", "category": "garden"}, headers=staff
    )
    assert response.status_code == 200
    assert (response.json["name"], response.json["category"]["id"]) == ("Copper Sauté Pan", garden.id)
    assert (response.json["price_cents"], response.json["sku"]) == (4500, product.sku)


@pytest.mark.parametrize(
    ("body", "field"), [({"name": None}, "name"), ({"price_cents": -5}, "price_cents"), ({"stock": 3}, "stock")]
)
def test_bad_changes_are_refused(client, product, staff, body, field):
    response = client.patch(f"/api/v1/products/{product.id}", json=body, headers=staff)
    assert (response.status_code, response.json["field"]) == (422, field)


def test_changing_a_missing_product_is_404(client, staff):
    assert client.patch("/api/v1/products/4242", json={"name": "X"}, headers=staff).status_code == 404
    assert client.put("/api/v1/products/4242/stock", json={"stock": 1}, headers=staff).status_code == 404


def test_stock_is_set_and_adjusted_but_never_below_zero(client, product, staff):
    path = f"/api/v1/products/{product.id}/stock"
    assert client.put(path, json={"stock": 7}, headers=staff).json["stock"] == 7
    assert client.post(f"{path}/adjustments", json={"delta": -5}, headers=staff).json["stock"] == 2
    refused = client.post(f"{path}/adjustments", json={"delta": -3}, headers=staff)
    assert (refused.status_code, refused.json["field"], refused.json["stock"]) == (409, "delta", 2)
    assert client.put(path, json={"stock": -1}, headers=staff).status_code == 422
    assert client.put(path, json={"stock": "lots"}, headers=staff).json["field"] == "stock"


def cached_views(client, product) -> tuple[int, int, int]:
    page = client.get(f"/api/v1/products/{product.id}").json
    listing = client.get("/api/v1/products?category=kitchen").json
    search = client.get("/api/v1/products?q=pan").json
    return page["stock"], listing["items"][0]["stock"], search["items"][0]["stock"]


def test_a_stock_change_through_the_api_shows_at_once(client, product, staff):
    assert cached_views(client, product) == (10, 10, 10)
    client.put(f"/api/v1/products/{product.id}/stock", json={"stock": 4}, headers=staff)
    assert cached_views(client, product) == (4, 4, 4)
    client.post(f"/api/v1/products/{product.id}/stock/adjustments", json={"delta": 3}, headers=staff)
    assert cached_views(client, product) == (7, 7, 7)


def test_a_stock_change_through_the_service_shows_at_once(client, product):
    assert cached_views(client, product) == (10, 10, 10)
    service.set_stock(product.id, 1)
    assert cached_views(client, product) == (1, 1, 1)


def test_a_change_made_elsewhere_shows_once_invalidated(client, product):
    # What checkout does: take stock in its own statement, then invalidate.
    assert cached_views(client, product) == (10, 10, 10)
    db.session.execute(sa.update(Product).where(Product.id == product.id).values(stock=Product.stock - 6))
    db.session.commit()
    assert cached_views(client, product) == (10, 10, 10)  # still cached: proves the cache is used
    invalidate_products([product.id])
    assert cached_views(client, product) == (4, 4, 4)


def test_a_new_product_appears_in_cached_listings(client, product, staff):
    assert client.get("/api/v1/products").json["total"] == 1
    client.post("/api/v1/products", json=new_product(), headers=staff)
    assert client.get("/api/v1/products").json["total"] == 2
    assert client.get("/api/v1/products?q=wok").json["total"] == 1
