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
    assert set(response.json) == {"items", "total", "page", "per_page", "did_you_mean"}


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


@pytest.mark.parametrize(("matching", "index"), [
    (search.matching, {"postgresql": "ix_products_search_vector", "sqlite": "product_search VIRTUAL TABLE INDEX"}),
    (search.similar, {"postgresql": "ix_products_name_trigrams", "sqlite": "product_trigrams VIRTUAL TABLE INDEX"}),
])
def test_search_uses_its_index(app, shelf, backend, matching, index):
    statement, _ = matching(sa.select(Product.id), ["pan"], backend)
    # As the engine runs it: the candidates' LIMIT is written into the SQL (search.inline), not bound.
    compiled = statement.compile(db.engine, compile_kwargs={"render_postcompile": True})
    # SQLite's driver takes positional parameters, psycopg named ones.
    params = tuple(compiled.params[name] for name in compiled.positiontup) if compiled.positional else compiled.params
    with db.engine.begin() as connection:
        if backend == "postgresql":
            # Five rows are cheaper to scan than to look up; forbid the scan to see the index is usable.
            connection.execute(sa.text("SET LOCAL enable_seqscan = off"))
            explain = "EXPLAIN"
        else:
            explain = "EXPLAIN QUERY PLAN"
        rows = connection.exec_driver_sql(f"{explain} {compiled}", params).all()
    plan = "\n".join(str(row[-1]) for row in rows)
    assert index[backend] in plan, plan


def test_a_search_writes_its_limits_into_the_sql(app, client, shelf, backend):
    # A prepared statement's generic plan would guess a bound LIMIT small and read every match.
    sent = []
    sa.event.listen(db.engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    client.get("/api/v1/products", query_string={"q": "pan", "per_page": 7})
    search_sql = next(statement for statement in sent if "AS page" in statement)
    # PostgreSQL also caps the matches it ranks; SQLite ranks every one.
    limits = ["LIMIT 7", f"LIMIT {search.CANDIDATES}"] if backend == "postgresql" else ["LIMIT 7"]
    assert all(limit in search_sql for limit in limits), search_sql


def listing(client, q: str) -> dict:
    response = client.get("/api/v1/products", query_string={"q": q})
    assert response.status_code == 200, response.json
    return response.json


def test_words_that_find_nothing_are_searched_as_the_names_spell_them(client, shelf):
    found = listing(client, "campign stvoes")
    assert ([item["name"] for item in found["items"]], found["did_you_mean"]) == (["Camping Stove"], "camping stove")


def test_words_that_find_something_suggest_nothing(client, shelf):
    found = listing(client, "pans")
    assert (len(found["items"]), found["did_you_mean"]) == (2, None)


def test_a_fragment_of_a_name_finds_it_by_trigrams(client, shelf):
    found = listing(client, "backp")
    assert ([item["name"] for item in found["items"]], found["did_you_mean"]) == (["Rugged Hiking Backpack"], None)


def test_a_name_with_accents_is_found_without_them_and_the_other_way(client, shelf):
    make_product(name="Crème Brûlée Torch")
    make_product(name="Cafe Table")
    assert names(client.get("/api/v1/products", query_string={"q": "creme brulee"})) == ["Crème Brûlée Torch"]
    assert names(client.get("/api/v1/products", query_string={"q": "café"})) == ["Cafe Table"]


def test_a_common_word_ranks_a_bounded_number_of_matches(client, shelf, backend, monkeypatch):
    if backend != "postgresql":
        pytest.skip("SQLite ranks every match: the embedded shop's catalog is small")
    monkeypatch.setattr(search, "CANDIDATES", 1)
    found = listing(client, "pan")
    assert (len(found["items"]), found["total"]) == (1, 1)


@pytest.mark.parametrize(("word", "meant"), [
    ("lmap", "lamp"),        # two letters swapped: one typo
    ("teapo", "teapot"),     # one letter missing
    ("knives", "knife"),     # a plural
    ("cafe", "café"),        # an accent missing
    ("crème", "creme"),      # an accent too many
    ("runing", "running"),   # as near to "pruning": the first letter decides
    ("lamp", "lamp"),
    ("lam", None),           # too short to guess
    ("xylophone", None),     # nothing near
])
def test_closest_word_forgives_typos_plurals_and_accents(word, meant):
    vocabulary = {search.fold(name_word): name_word
                  for name_word in ["lamp", "teapot", "knife", "café", "creme", "running", "pruning", "lame"]}
    assert search.closest_word(word, vocabulary) == meant


def test_name_words_are_the_letters_words_of_names_once():
    assert search.name_words(["Desk Lamp 42", "Lamp, Yo-yo", "Crème"]) == ["crème", "desk", "lamp", "yo"]


def test_the_search_page_says_which_words_it_searched_instead(client, shelf):
    html = client.get("/products", query_string={"q": "campign stvoes"}).get_data(as_text=True)
    assert 'data-test="did-you-mean"' in html
    assert '<a href="/products?q=camping+stove">camping stove</a>' in html
    assert 'data-test="did-you-mean"' not in client.get("/products", query_string={"q": "stove"}).get_data(as_text=True)


def test_search_words_are_every_word_of_every_name_as_products_come_and_change(app, shelf):
    from shop.catalog import service

    make_product(name="Velvet Ottoman 42")
    shelf["pot"].name = "Soup Cauldron"
    db.session.commit()
    words = service.search_words()
    assert {"velvet", "ottoman", "soup", "cauldron", "copper", "frying", "pan"} <= set(words)
    assert not {"42", "a", "stock", "pot"} & set(words)


def test_name_words_no_product_has_together_are_not_searched_by_resemblance(client, shelf, monkeypatch):
    def resemblance_search(*args):
        raise AssertionError("searched by resemblance")

    monkeypatch.setattr(search, "similar", resemblance_search)
    found = listing(client, "grill stove")
    assert (found["items"], found["total"], found["did_you_mean"]) == ([], 0, None)
