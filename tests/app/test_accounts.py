"""Accounts: passwords, logging in and out, and which credentials may write through the API."""

from __future__ import annotations

import pytest

from .factories import ADDRESS, PASSWORD, auth_headers, make_cart, make_product, make_user
from .test_storefront_checkout import csrf

SPACED_PASSWORD = "  spaced out secret  "


def register_by_api(client, email: str, password: str):
    response = client.post("/api/v1/auth/register", json={"email": email, "password": password, "name": "Ada"})
    assert response.status_code == 201
    return response


def api_login(client, email: str, password: str):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def storefront_login(client, email: str, password: str):
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf(client)})


def test_a_password_with_spaces_logs_in_through_the_api_exactly_as_registered(client):
    register_by_api(client, "spaces@example.com", SPACED_PASSWORD)
    response = client.post("/api/v1/auth/login", json={"email": "spaces@example.com", "password": SPACED_PASSWORD})
    assert response.status_code == 200


def test_a_password_with_spaces_logs_in_through_the_storefront_exactly_as_registered(app):
    register_by_api(app.test_client(), "spaces@example.com", SPACED_PASSWORD)
    response = storefront_login(app.test_client(), "spaces@example.com", SPACED_PASSWORD)
    assert response.status_code == 302


@pytest.mark.parametrize("path", ["api", "storefront"])
def test_the_trimmed_password_is_refused(app, path):
    register_by_api(app.test_client(), "spaces@example.com", SPACED_PASSWORD)
    client = app.test_client()
    if path == "api":
        response = client.post(
            "/api/v1/auth/login", json={"email": "spaces@example.com", "password": SPACED_PASSWORD.strip()}
        )
    else:
        response = storefront_login(client, "spaces@example.com", SPACED_PASSWORD.strip())
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("password", "status"), [(SPACED_PASSWORD, 200), (SPACED_PASSWORD.strip(), 401)], ids=["as-registered", "trimmed"]
)
def test_a_password_registered_through_the_storefront_is_kept_exactly(app, password, status):
    shopper = app.test_client()
    registered = shopper.post(
        "/register",
        data={
            "name": "Ada",
            "email": "spaces@example.com",
            "password": SPACED_PASSWORD,
            "csrf_token": csrf(shopper, "/register"),
        },
    )
    assert registered.status_code == 302
    assert api_login(app.test_client(), "spaces@example.com", password).status_code == status


def storefront_logout(client):
    return client.post("/logout", data={"csrf_token": csrf(client, "/")})


def test_a_session_cookie_saved_before_logout_no_longer_logs_in(app):
    user = make_user()
    shopper = app.test_client()
    assert storefront_login(shopper, user.email, PASSWORD).status_code == 302
    saved = shopper.get_cookie("session").value
    assert storefront_logout(shopper).status_code == 302

    replay = app.test_client()
    replay.set_cookie("session", saved)
    assert replay.get("/api/v1/auth/me").status_code == 401
    assert replay.get("/orders").status_code == 302  # sent to log in


def test_a_bearer_token_from_before_logout_no_longer_works(app, client):
    user = make_user()
    token = api_login(client, user.email, PASSWORD).json["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/auth/logout", headers=bearer).status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 401


def test_logging_in_again_after_logout_works(app):
    user = make_user()
    shopper = app.test_client()
    storefront_login(shopper, user.email, PASSWORD)
    storefront_logout(shopper)
    assert storefront_login(shopper, user.email, PASSWORD).status_code == 302
    assert shopper.get("/api/v1/auth/me").status_code == 200


def test_an_api_write_with_only_the_session_cookie_is_refused(app, client):
    customer = make_user()
    cart = make_cart(customer, (make_product(), 1))
    storefront_login(client, customer.email, PASSWORD)
    response = client.post("/api/v1/orders", json={"cart_id": cart.id, "shipping_address": ADDRESS})
    assert response.status_code == 401
    assert response.json["type"].endswith("/bearer-token-required")
    assert "bearer token" in response.json["detail"]


def test_the_session_cookie_does_not_open_the_customers_cart_to_api_writes(app, client):
    customer = make_user()
    product = make_product()
    cart = make_cart(customer)
    storefront_login(client, customer.email, PASSWORD)
    response = client.post(f"/api/v1/carts/{cart.id}/items", json={"product_id": product.id, "quantity": 1})
    assert response.status_code == 404


def test_an_api_read_with_the_session_cookie_is_allowed(app, client):
    customer = make_user()
    storefront_login(client, customer.email, PASSWORD)
    assert client.get("/api/v1/auth/me").json["id"] == customer.id


def test_an_api_write_with_a_bearer_token_is_allowed(app, client):
    customer = make_user()
    response = client.post("/api/v1/carts", headers=auth_headers(customer))
    assert response.status_code == 201
    assert response.json["customer_id"] == customer.id


def test_the_openapi_document_offers_only_bearer_tokens_for_writes(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert paths["/api/v1/orders"]["post"]["security"] == [{"bearerAuth": []}]
    assert {"cookieAuth": []} in paths["/api/v1/orders"]["get"]["security"]
