"""The catalog's read API: categories, product listings with filters, sorting and pages, one product."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shop.columns import utcnow
from shop.extensions import db

from .factories import make_category, make_product


@pytest.fixture
def shelf(app):
    kitchen, garden = make_category("Kitchen"), make_category("Garden")
    products = {
        "pan": make_product(kitchen, name="Copper Frying Pan", price_cents=4500),
        "knife": make_product(kitchen, name="Chef Knife", price_cents=2900),
        "board": make_product(kitchen, name="Oak Cutting Board", price_cents=1900, stock=0),
        "can": make_product(garden, name="Watering Can", price_cents=1200),
        "trowel": make_product(garden, name="Steel Trowel", price_cents=900),
    }
    # Distinct creation times, oldest first in the order above, for the "newest" sort.
    for age, product in enumerate(reversed(list(products.values()))):
        product.created_at = utcnow() - timedelta(hours=age)
    db.session.commit()
    return {"kitchen": kitchen, "garden": garden, **products}


def names(response) -> list[str]:
    return [item["name"] for item in response.json["items"]]


def test_categories_are_listed_by_name(client, shelf):
    response = client.get("/api/v1/categories")
    assert response.status_code == 200
    assert response.json == {
        "items": [
            {"id": shelf["garden"].id, "slug": "garden", "name": "Garden"},
            {"id": shelf["kitchen"].id, "slug": "kitchen", "name": "Kitchen"},
        ],
        "total": 2,
        "page": 1,
        "per_page": 20,
    }


def test_a_product_carries_its_category_price_and_stock(client, shelf):
    pan = shelf["pan"]
    response = client.get(f"/api/v1/products/{pan.id}")
    assert response.status_code == 200
    body = response.json
    assert body["category"] == {"id": shelf["kitchen"].id, "slug": "kitchen", "name": "Kitchen"}
    assert (body["id"], body["name"], body["sku"], body["price_cents"], body["currency"], body["stock"]) == (
        pan.id,
        "Copper Frying Pan",
        pan.sku,
        4500,
        "EUR",
        100,
    )
    assert body["description"] == "A fine product."
    assert body["in_stock"] is True


@pytest.mark.parametrize("product_id", [999_999, 2**31, 10**30])
def test_a_missing_product_is_404_problem(client, shelf, product_id):
    response = client.get(f"/api/v1/products/{product_id}")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_listing_pages_count_every_match(client, shelf):
    first = client.get("/api/v1/products?per_page=2&sort=price_asc")
    second = client.get("/api/v1/products?per_page=2&page=3&sort=price_asc")
    beyond = client.get("/api/v1/products?per_page=2&page=9")
    assert (first.json["total"], first.json["page"], first.json["per_page"]) == (5, 1, 2)
    assert names(first) == ["Steel Trowel", "Watering Can"]
    assert names(second) == ["Copper Frying Pan"]
    assert beyond.json["items"] == [] and beyond.json["total"] == 5


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price_asc", ["Steel Trowel", "Watering Can", "Oak Cutting Board", "Chef Knife", "Copper Frying Pan"]),
        ("price_desc", ["Copper Frying Pan", "Chef Knife", "Oak Cutting Board", "Watering Can", "Steel Trowel"]),
        ("name", ["Chef Knife", "Copper Frying Pan", "Oak Cutting Board", "Steel Trowel", "Watering Can"]),
        ("newest", ["Steel Trowel", "Watering Can", "Oak Cutting Board", "Chef Knife", "Copper Frying Pan"]),
        (None, ["Chef Knife", "Copper Frying Pan", "Oak Cutting Board", "Steel Trowel", "Watering Can"]),
    ],
)
def test_listing_sorts(client, shelf, sort, expected):
    assert names(client.get("/api/v1/products", query_string={"sort": sort} if sort else {})) == expected


def test_listing_filters_by_category_slug_or_id_and_price(client, shelf):
    by_slug = client.get("/api/v1/products?category=garden")
    by_id = client.get(f"/api/v1/products?category={shelf['kitchen'].id}&min_price_cents=2000&max_price_cents=4500")
    assert names(by_slug) == ["Steel Trowel", "Watering Can"]
    assert names(by_id) == ["Chef Knife", "Copper Frying Pan"]
    assert by_id.json["total"] == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("category=nowhere", "category"),
        ("category=99999999999", "category"),
        ("min_price_cents=-1", "min_price_cents"),
        ("max_price_cents=abc", "max_price_cents"),
        ("max_price_cents=999999999999999999999", "max_price_cents"),
        ("min_price_cents=500&max_price_cents=100", "query"),
        ("page=0", "page"),
        ("per_page=1000", "per_page"),
        ("sort=cheapest", "sort"),
        ("colour=red", "colour"),
    ],
)
def test_bad_listing_parameters_are_a_422_naming_the_field(client, shelf, query, field):
    response = client.get(f"/api/v1/products?{query}")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["field"] == field


def test_the_openapi_document_describes_the_catalog(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/products"])
    assert "patch" in paths["/api/v1/products/{product_id}"]
    assert "put" in paths["/api/v1/products/{product_id}/stock"]
    assert "get" in paths["/api/v1/products/{product_id}/forecast"]
    parameters = {p["name"] for p in paths["/api/v1/products"]["get"]["parameters"]}
    assert {"q", "category", "min_price_cents", "max_price_cents", "sort", "page", "per_page"} <= parameters
