"""Security headers on every response, HSTS only over HTTPS, and no inline script for the CSP to allow."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import request

from shop import create_app

TEMPLATES = Path(__file__).parents[2] / "app" / "shop" / "templates"
PAGES = ["/", "/login", "/cart", "/api/v1/products", "/api/v1/no-such-thing", "/no-such-page", "/healthz"]


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_the_content_security_policy_allows_no_inline_script_or_style(client):
    policy = dict(part.strip().split(" ", 1) for part in client.get("/").headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert "unsafe-inline" not in str(policy)


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda path: path.name)
def test_templates_hold_no_inline_script_handler_or_style(template):
    text = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>: move it to static/"
    assert not re.search(r"\son[a-z]+\s*=", text, re.IGNORECASE), "inline on*= handler: move it to static/"
    assert not re.search(r"\sstyle\s*=", text, re.IGNORECASE), "style= attribute: move it to shop.css"


def test_plain_http_gets_no_hsts(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers


def test_https_gets_hsts(client):
    response = client.get("/healthz", base_url="https://shop.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_forwarded_proto_is_ignored_without_a_configured_proxy(client):
    response = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


def test_a_forwarded_proto_from_the_configured_proxy_means_https(app_config):
    proxied = create_app({**app_config, "PROXY_FIX_X_PROTO": 1}).test_client()
    response = proxied.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize(("proxies", "address"), [(0, "10.0.0.2"), (1, "203.0.113.9")])
def test_the_client_address_comes_from_the_configured_proxy_count(app_config, proxies, address):
    proxied = create_app({**app_config, "PROXY_FIX_X_FOR": proxies})
    proxied.add_url_rule("/whoami", "whoami", lambda: request.remote_addr)
    response = proxied.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.9"},
                                         environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert response.get_data(as_text=True) == address


def test_the_session_cookie_is_secure_when_configured(app_config):
    secure = create_app({**app_config, "SESSION_COOKIE_SECURE": True}).test_client()
    secure.get("/login", base_url="https://shop.example")
    cookie = secure.get_cookie("session", domain="shop.example")
    assert cookie is not None and cookie.secure
