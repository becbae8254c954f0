"""The web hosts: nginx in front of the shop, the shop ready, metrics kept off the public port."""

import json

import pytest

testinfra_hosts = ["ansible://web"]


def test_nginx_is_running(host):
    assert host.service("nginx").is_running


def test_shop_reports_the_expected_release(host, expected_release):
    health = json.loads(host.check_output("curl -fsS http://127.0.0.1:8000/healthz"))
    assert health == {"status": "ok", "release": expected_release}


def test_shop_is_ready(host):
    host.run_expect([0], "curl -fsS http://127.0.0.1:8000/readyz")


@pytest.mark.parametrize("path", ["/", "/api/v1/products", "/readyz"])
def test_nginx_serves_the_shop(host, path):
    host.run_expect([0], f"curl -fsS -o /dev/null http://127.0.0.1:80{path}")


@pytest.mark.parametrize("path", ["/metrics", "/readyz/dependencies"])
def test_nginx_keeps_operations_endpoints_private(host, path):
    status = host.check_output(f"curl -s -o /dev/null -w '%{{http_code}}' http://127.0.0.1:80{path}")
    assert status == "404"


def test_shop_exports_metrics(host):
    assert "# TYPE" in host.check_output("curl -fsS http://127.0.0.1:8000/metrics")
