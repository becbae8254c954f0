"""The shop, as its customers reach it: through the load balancer."""

import pytest
import requests


@pytest.mark.parametrize("path", ["/", "/api/v1/products", "/healthz", "/readyz"])
def test_shop_answers_through_the_load_balancer(public_url, path):
    assert requests.get(f"{public_url}{path}", timeout=10).status_code == 200


def test_load_balancer_serves_the_expected_release(public_url, expected_release):
    assert requests.get(f"{public_url}/healthz", timeout=10).json()["release"] == expected_release


def test_products_come_as_json(public_url):
    reply = requests.get(f"{public_url}/api/v1/products", timeout=10)
    assert reply.headers["Content-Type"].startswith("application/json")


def test_metrics_are_not_public(public_url):
    assert requests.get(f"{public_url}/metrics", timeout=10).status_code == 404
