"""Full-text search: word forms, relevance, hostile input, and filters, on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from shop.catalog import search
from shop.catalog.models import Product
from shop.extensions import db

from .factories import make_category, make_product


@pytest.fixture
def shelf(app):
    kitchen, outdoor = make_category("Kitchen"), make_category("Outdoor")
    return {
        "pan": make_product(
            kitchen, name="Copper Frying Pan", price_cents=4500, description="Heats evenly, easy to clean."
        ),
        "grill": make_product(
            kitchen, name="Grill Plate", price_cents=3000, description="Goes well with a frying pan on a camping trip."
        ),
        "pot": make_product(kitchen, name="Stock Pot", price_cents=2500, description="For soups."),
        "backpack": make_product(
            outdoor, name="Rugged Hiking Backpack", price_cents=8900, description="Carries everything."
        ),
        "stove": make_product(
            outdoor, name="Camping Stove", price_cents=5900, description="Light enough for long hikes."
        ),
    }


def names(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [item["name"] for item in response.json["items"]]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("pans", ["Copper Frying Pan", "Grill Plate"]),
        ("hiking", ["Rugged Hiking Backpack", "Camping Stove"]),
        ("FRYING pan", ["Copper Frying Pan", "Grill Plate"]),
        ("camping stoves", ["Camping Stove"]),
        ("nothing-like-this", []),
    ],
)
def test_search_finds_word_forms_ranked_by_relevance(client, shelf, q, expected):
    # A match in the name outranks one in the description.
    assert names(client.get("/api/v1/products", query_string={"q": q})) == expected


@pytest.mark.parametrize(
    "q",
    [
        '"',
        'pan"',
        '"pan',
        "pan*",
        "*",
        "NEAR(pan grill)",
        "pan NEAR grill",
        "pan OR grill",
        "-pan",
        "name:pan",
        "(pan",
        "pan)",
        "pan AND",
        "^pan",
        "'; DROP TABLE products; --",
        "ünïcödé pän",
        "日本語",
        "🍳",
        "pan & | ! :* <->",
        "_",
        "a" * 200,
    ],
)
def test_no_input_breaks_the_search(client, shelf, q):
    response = client.get("/api/v1/products", query_string={"q": q})
    assert response.status_code == 200
    assert set(response.json) == {"items", "total", "page", "per_page"}


def test_operators_are_searched_as_words_not_obeyed(client, shelf):
    assert names(client.get("/api/v1/products", query_string={"q": "pan OR stove"})) == []
    assert "Copper Frying Pan" in names(client.get("/api/v1/products", query_string={"q": '"pan*"'}))


@pytest.mark.parametrize("q", ["", "   ", "?!", "***"])
def test_a_search_without_words_lists_everything(client, shelf, q):
    everything = client.get("/api/v1/products").json
    assert client.get("/api/v1/products", query_string={"q": q}).json == everything


def test_search_combines_with_category_price_and_pages(client, shelf):
    query = {"q": "pan", "category": "kitchen", "max_price_cents": 4000}
    assert names(client.get("/api/v1/products", query_string=query)) == ["Grill Plate"]
    first = client.get("/api/v1/products", query_string={"q": "camping", "per_page": 1})
    second = client.get("/api/v1/products", query_string={"q": "camping", "per_page": 1, "page": 2})
    beyond = client.get("/api/v1/products", query_string={"q": "camping", "per_page": 1, "page": 3})
    assert (names(first), first.json["total"]) == (["Camping Stove"], 2)
    assert (names(second), second.json["total"]) == (["Grill Plate"], 2)
    assert (names(beyond), beyond.json["total"]) == ([], 2)


def test_search_can_sort_by_price(client, shelf):
    response = client.get("/api/v1/products", query_string={"q": "pan", "sort": "price_asc"})
    assert names(response) == ["Grill Plate", "Copper Frying Pan"]


def test_renamed_products_are_found_by_their_new_name(client, shelf):
    shelf["pot"].name = "Soup Cauldron"
    db.session.commit()
    assert names(client.get("/api/v1/products", query_string={"q": "cauldron"})) == ["Soup Cauldron"]


def test_terms_keep_only_words():
    assert search.terms(' "Frying"  pan* NEAR(x) ünï ') == ["frying", "pan", "near", "x", "ünï"]
    assert search.terms("a b c d e f g h i j") == ["a", "b", "c", "d", "e", "f", "g", "h"]


def test_search_uses_the_full_text_index(app, shelf, backend):
    statement, _ = search.matching(sa.select(Product.id), ["pan"], backend)
    compiled = statement.compile(db.engine)
    # SQLite's driver takes positional parameters, psycopg named ones.
    params = tuple(compiled.params[name] for name in compiled.positiontup) if compiled.positional else compiled.params
    with db.engine.begin() as connection:
        if backend == "postgresql":
            # Five rows are cheaper to scan than to look up; forbid the scan to see the index is usable.
            connection.execute(sa.text("SET LOCAL enable_seqscan = off"))
            explain, index = "EXPLAIN", "ix_products_search_vector"
        else:
            explain, index = "EXPLAIN QUERY PLAN", "VIRTUAL TABLE INDEX"
        rows = connection.exec_driver_sql(f"{explain} {compiled}", params).all()
    plan = "\n".join(str(row[-1]) for row in rows)
    assert index in plan, plan
