"""Accounts: passwords, logging in and out, and which credentials may write through the API."""

from __future__ import annotations

import pytest

from .test_storefront_checkout import csrf

SPACED_PASSWORD = "  spaced out secret  "


def register_by_api(client, email: str, password: str):
    response = client.post("/api/v1/auth/register", json={"email": email, "password": password, "name": "Ada"})
    assert response.status_code == 201
    return response


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
        response = client.post("/api/v1/auth/login",
                               json={"email": "spaces@example.com", "password": SPACED_PASSWORD.strip()})
    else:
        response = storefront_login(client, "spaces@example.com", SPACED_PASSWORD.strip())
    assert response.status_code == 401
