"""Bad input is a 4xx with a reason (problem+json for the API, a friendly page or flash for the
storefront), never a 500: regression tests for what used to crash the shop (issue 7)."""

from __future__ import annotations

import re

import pytest

from shop.extensions import db
from shop.models import Order

from .factories import auth_headers, make_category, make_product, make_user
from .test_storefront_checkout import ADDRESS, CARD, add_to_cart, csrf, log_in

BIG_IDS = [2**31, 2**63, 10**30]
LONG_NUMBER = "9" * 5000


def short_id(value) -> str:
    text = str(value)
    return text if len(text) < 40 else f"{len(text)}-digits"


def assert_problem(response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    assert response.json["detail"]
    if field is not None:
        assert response.json["field"] == field


def assert_friendly_page(response, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/html"
    assert "Internal server error" not in response.get_data(as_text=True)


def new_cart(client) -> dict:
    response = client.post("/api/v1/carts")
    assert response.status_code == 201
    return response.json


# 1. Deeply nested JSON

@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/carts/any-cart/items"])
def test_deeply_nested_json_is_a_400(client, path):
    response = client.post(path, data=b"[" * 100_000, content_type="application/json")
    assert_problem(response, 400, "body")


def test_nested_json_that_parses_but_is_too_deep_to_validate_is_a_4xx(client):
    # Deep enough to trouble a validator, shallow enough for the JSON parser.
    body = '{"email": ' + "[" * 500 + "]" * 500 + ', "password": "x"}'
    response = client.post("/api/v1/auth/login", data=body, content_type="application/json")
    assert_problem(response, 422, "email")


# 2. Body size

def test_an_oversized_api_body_is_a_413_problem(client, app):
    body = b'{"email": "' + b"a" * app.config["MAX_CONTENT_LENGTH"] + b'"}'
    response = client.post("/api/v1/auth/login", data=body, content_type="application/json")
    assert_problem(response, 413, "body")


def test_an_oversized_storefront_form_is_a_friendly_413(client, app):
    response = client.post("/login", data={"email": "a" * app.config["MAX_CONTENT_LENGTH"]})
    assert_friendly_page(response, 413)


# 3. Ids beyond an integer column

@pytest.mark.parametrize("product_id", BIG_IDS)
@pytest.mark.parametrize("path", ["/api/v1/products/{id}", "/api/v1/products/{id}/recommendations",
                                  "/products/{id}"])
def test_a_huge_path_id_does_not_exist(client, path, product_id):
    response = client.get(path.format(id=product_id))
    assert response.status_code == 404


@pytest.mark.parametrize("product_id", BIG_IDS)
def test_a_huge_path_id_in_a_cart_line_does_not_exist(client, product_id):
    cart = new_cart(client)
    response = client.patch(f"/api/v1/carts/{cart['id']}/items/{product_id}", json={"quantity": 1})
    assert_problem(response, 404)


@pytest.mark.parametrize("product_id", BIG_IDS)
def test_a_huge_body_id_is_a_422_naming_the_field(client, product_id):
    cart = new_cart(client)
    response = client.post(f"/api/v1/carts/{cart['id']}/items", json={"product_id": product_id})
    assert_problem(response, 422, "product_id")


@pytest.mark.parametrize("product_id", [str(2**31), str(2**63), LONG_NUMBER], ids=short_id)
def test_a_huge_form_id_is_a_friendly_400(client, product_id):
    response = client.post("/cart/items", data={"product_id": product_id, "csrf_token": csrf(client)})
    assert_friendly_page(response, 400)


# 4. Path ids in other scripts' digits

@pytest.mark.parametrize("path", ["/api/v1/products/{digits}", "/products/{digits}"])
def test_path_ids_in_non_ascii_digits_do_not_resolve(client, path):
    product = make_product()
    arabic_indic = str(product.id).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert client.get(path.format(digits=product.id)).status_code == 200
    assert client.get(path.format(digits=arabic_indic)).status_code == 404


# 5. If-Match

@pytest.mark.parametrize("if_match", ["²", '"²"', LONG_NUMBER, str(2**63), "é"], ids=short_id)
def test_a_long_or_non_ascii_if_match_is_a_400(client, if_match):
    cart = new_cart(client)
    response = client.delete(f"/api/v1/carts/{cart['id']}/coupon", headers={"If-Match": if_match})
    assert_problem(response, 400, "If-Match")


# 6. Query strings

@pytest.mark.parametrize("category", ["²", "١٢", "9" * 80])
def test_a_non_ascii_digit_category_is_a_422_naming_it(client, category):
    make_category("Kettles")
    response = client.get("/api/v1/products", query_string={"category": category})
    assert_problem(response, 422, "category")


def test_an_unknown_category_is_a_422_naming_it(client):
    response = client.get("/api/v1/products", query_string={"category": "no-such-category"})
    assert_problem(response, 422, "category")


@pytest.mark.parametrize(("name", "value"), [("page", "²"), ("per_page", "١٢"), ("min_price_cents", "²")])
def test_non_ascii_digit_numbers_in_the_listing_query_are_a_422(client, name, value):
    response = client.get("/api/v1/products", query_string={name: value})
    assert_problem(response, 422, name)


def test_a_non_ascii_digit_category_on_the_storefront_is_a_friendly_422(client):
    assert_friendly_page(client.get("/products", query_string={"category": "²"}), 422)


# 7. Storefront forms

@pytest.mark.parametrize("quantity", ["²", "١٢", LONG_NUMBER], ids=short_id)
def test_a_non_ascii_or_huge_quantity_is_a_friendly_400(client, quantity):
    product = make_product()
    response = client.post("/cart/items", data={"product_id": product.id, "quantity": quantity,
                                                "csrf_token": csrf(client)})
    assert_friendly_page(response, 400)


def test_a_non_ascii_product_id_is_a_friendly_400(client):
    response = client.post("/cart/items", data={"product_id": "²", "csrf_token": csrf(client)})
    assert_friendly_page(response, 400)


@pytest.mark.parametrize("quantity", ["²", LONG_NUMBER], ids=short_id)
def test_changing_a_line_to_a_bad_quantity_is_flashed(client, quantity):
    product = make_product()
    add_to_cart(client, product.id)
    response = client.post(f"/cart/items/{product.id}", data={"quantity": quantity, "csrf_token": csrf(client)},
                           follow_redirects=True)
    assert_friendly_page(response, 200)
    assert "quantity must be a whole number" in response.get_data(as_text=True)


@pytest.mark.parametrize("page", ["²", "١٢", LONG_NUMBER], ids=short_id)
def test_a_bad_orders_page_number_is_a_friendly_4xx(client, page):
    log_in(client, make_user())
    assert_friendly_page(client.get("/orders", query_string={"page": page}), 422)


@pytest.mark.parametrize("exp_month", ["²", "١٢", LONG_NUMBER], ids=short_id)
def test_a_bad_card_expiry_month_is_flashed_and_takes_no_stock(client, exp_month):
    product = make_product(stock=5)
    user = make_user()
    add_to_cart(client, product.id)
    log_in(client, user)
    response = client.post("/checkout", data={**ADDRESS, **CARD, "exp_month": exp_month,
                                              "csrf_token": csrf(client, "/checkout")})
    assert_friendly_page(response, 422)
    assert "exp_month" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.query(Order).count() == 0


def test_a_bad_card_expiry_month_on_the_order_page_is_flashed(client):
    product = make_product(stock=5)
    user = make_user()
    add_to_cart(client, product.id)
    log_in(client, user)
    declined = {**CARD, "card_number": "4000 0000 0000 0002"}
    client.post("/checkout", data={**ADDRESS, **declined, "csrf_token": csrf(client, "/checkout")})
    order_id = db.session.query(Order.id).scalar()
    response = client.post(f"/orders/{order_id}/pay", data={**CARD, "exp_month": "²",
                                                            "csrf_token": csrf(client, f"/orders/{order_id}")},
                           follow_redirects=True)
    assert response.status_code == 200
    assert "exp_month" in response.get_data(as_text=True)


# 8. Metrics stay bounded

def _series(client) -> set[str]:
    body = client.get("/metrics").get_data(as_text=True)
    return {line.split(" ")[0] for line in body.splitlines() if line.startswith("shop_http_")}


def test_made_up_methods_and_paths_add_no_metric_series(client):
    # One of each kind first: the series these make are the only ones such requests may ever make.
    client.get("/api/v1/nowhere")
    client.open("/api/v1/nowhere", method="FOO")
    client.open("/api/v1/products", method="FOO")
    before = _series(client)
    for number in range(5):
        client.open("/api/v1/products", method=f"MADEUP{number}")
        client.get(f"/random/path/{number}")
        client.open(f"/api/v1/nowhere/{number}", method=f"BAR{number}")
    assert _series(client) == before


def test_requests_are_labelled_by_route_template(client):
    product = make_product()
    client.get(f"/api/v1/products/{product.id}")
    assert any(re.search(r'route="/api/v1/products/<int:product_id>"', series) for series in _series(client))


def test_a_staff_route_with_a_customer_token_is_still_403(client):
    # The bounded id converter must not change who may ask.
    response = client.get("/api/v1/products/1/forecast", headers=auth_headers(make_user()))
    assert_problem(response, 403)


# What the OpenAPI document promises about bad input

def test_a_json_body_sent_as_another_media_type_is_a_415(client):
    response = client.post("/api/v1/auth/login", data='{"email": "a@example.com", "password": "x"}',
                           content_type="text/plain")
    assert_problem(response, 415, "Content-Type")


def _parameter(operation: dict, name: str) -> dict:
    return next(parameter for parameter in operation["parameters"] if parameter["name"] == name)


def test_the_openapi_document_states_the_header_formats(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    if_match = _parameter(paths["/api/v1/carts/{cart_id}/items"]["post"], "If-Match")
    assert re.fullmatch(if_match["schema"]["pattern"], '"3"')
    assert not re.fullmatch(if_match["schema"]["pattern"], "²")
    key = _parameter(paths["/api/v1/orders"]["post"], "Idempotency-Key")
    assert (key["schema"]["minLength"], key["schema"]["maxLength"]) == (1, 255)
    signature = _parameter(paths["/api/v1/payments/webhook"]["post"], "Shop-Signature")
    assert signature["required"] is True


def test_the_openapi_document_states_the_refusals(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    with_body = paths["/api/v1/carts/{cart_id}/items"]["post"]["responses"]
    assert {"413", "415", "422", "429"} <= set(with_body)
    listing = paths["/api/v1/products"]["get"]
    assert "422" in listing["responses"]
    assert "422" in _parameter(listing, "category")["schema"]["description"]
    product_id = _parameter(paths["/api/v1/products/{product_id}"]["get"], "product_id")
    assert product_id["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}


@pytest.mark.parametrize(("data", "field"), [({"quantity": "²"}, "quantity"), ({"product_id": "x"}, "product_id")])
def test_a_bad_form_field_is_named_in_the_problem(client, data, field):
    product = make_product()
    response = client.post("/cart/items", data={"product_id": product.id, **data, "csrf_token": csrf(client)},
                           headers={"Accept": "application/json"})
    assert_problem(response, 400, field)


# NUL characters (PostgreSQL text cannot hold them)

def test_a_nul_in_a_path_segment_matches_no_route(client):
    assert_problem(client.get("/api/v1/carts/%00"), 404)


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/auth/register", {"email": "a@example.com", "password": "longenough", "name": "A\u0000"}, "name"),
    ("/api/v1/auth/login", {"email": "a@example.com", "password": "x\u0000"}, "password"),
])
def test_a_nul_in_a_json_string_is_a_422_naming_the_field(client, path, body, field):
    assert_problem(client.post(path, json=body), 422, field)


def test_a_nul_in_a_query_string_is_a_422_naming_the_field(client):
    assert_problem(client.get("/api/v1/products", query_string={"category": "\u0000"}), 422, "category")


@pytest.mark.parametrize(("path", "data"), [("/login", {"email": "a\u0000@example.com", "password": "x"}),
                                            ("/cart/coupon", {"code": "A\u0000"})])
def test_a_nul_in_a_storefront_form_is_a_friendly_400(client, path, data):
    assert_friendly_page(client.post(path, data={**data, "csrf_token": csrf(client)}), 400)
