"""Recommendations: bought together by P(B | A) with its support, else similar products."""

from __future__ import annotations

import pytest

from .factories import make_category, make_past_order, make_product, make_user


@pytest.fixture
def history(app):
    kitchen, garden = make_category("Kitchen"), make_category("Garden")
    shop = {
        "pan": make_product(kitchen, name="Copper Frying Pan", price_cents=4500),
        "spatula": make_product(kitchen, name="Wooden Spatula", price_cents=900),
        "oil": make_product(kitchen, name="Olive Oil Sprayer", price_cents=1200),
        "lid": make_product(kitchen, name="Glass Pan Lid", price_cents=1500, stock=0),
        "apron": make_product(kitchen, name="Linen Apron", price_cents=2500),
        "twin": make_product(kitchen, name="Copper Saute Pan", price_cents=4700),
        "hose": make_product(garden, name="Garden Hose", price_cents=3000),
    }
    customer = make_user()
    p = shop
    for lines in (
        [p["pan"], p["spatula"], p["oil"], p["lid"]],
        [p["pan"], p["spatula"], p["oil"], p["lid"]],
        [p["pan"], p["spatula"], p["hose"], p["lid"]],
        [p["pan"], p["apron"]],
        [p["pan"]],
    ):
        make_past_order(customer, [(product, 1) for product in lines])
    # Cancelled orders sold nothing: they must not make the hose and pan look like a pair.
    for _ in range(3):
        make_past_order(customer, [(p["pan"], 1), (p["hose"], 2)], status="cancelled")
    return shop


def recommendations(client, product, **query) -> dict:
    response = client.get(f"/api/v1/products/{product.id}/recommendations", query_string=query)
    assert response.status_code == 200, response.json
    return response.json


def test_bought_together_is_scored_by_conditional_probability(client, history):
    body = recommendations(client, history["pan"], limit=2)
    assert body["product_id"] == history["pan"].id
    assert body["orders_with_product"] == 5
    assert [(item["product"]["name"], item["source"], item["score"], item["support"]) for item in body["items"]] == [
        ("Wooden Spatula", "bought_together", 0.6, 3),
        ("Olive Oil Sprayer", "bought_together", 0.4, 2),
    ]


def test_thin_history_is_filled_with_similar_products(client, history):
    items = recommendations(client, history["pan"], limit=6)["items"]
    names = [item["product"]["name"] for item in items]
    # The lid (bought 3 times) is out of stock; the apron and the hose were seen together once only.
    assert names[:2] == ["Wooden Spatula", "Olive Oil Sprayer"]
    assert {item["source"] for item in items[2:]} == {"similar"}
    assert names[2] == "Copper Saute Pan"  # same category, shared words, near price
    assert "Glass Pan Lid" not in names and "Copper Frying Pan" not in names
    assert "Garden Hose" not in names  # another category, and only a cancelled pattern
    assert all(0 <= item["score"] <= 1 for item in items)


def test_a_product_never_sold_gets_similar_products_of_its_category(client, history):
    body = recommendations(client, history["twin"], limit=3)
    assert body["orders_with_product"] == 0
    assert [item["product"]["name"] for item in body["items"]][0] == "Copper Frying Pan"
    assert {item["source"] for item in body["items"]} == {"similar"}
    assert all(item["product"]["category"]["slug"] == "kitchen" for item in body["items"])


def test_recommendations_follow_stock_changes(client, history, app):
    from shop.catalog import service

    assert recommendations(client, history["pan"], limit=1)["items"][0]["product"]["name"] == "Wooden Spatula"
    service.set_stock(history["spatula"].id, 0)
    assert recommendations(client, history["pan"], limit=1)["items"][0]["product"]["name"] == "Olive Oil Sprayer"


@pytest.mark.parametrize(("query", "status"), [("limit=0", 422), ("limit=1000", 422), ("limit=x", 422)])
def test_bad_limits_are_refused(client, history, query, status):
    assert client.get(f"/api/v1/products/{history['pan'].id}/recommendations?{query}").status_code == status


def test_recommendations_of_a_missing_product_are_404(client, history):
    assert client.get("/api/v1/products/999999/recommendations").status_code == 404
