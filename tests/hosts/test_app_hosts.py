"""The web and worker hosts: the engine, the shop's containers, their image and their secrets."""

import json

import pytest

from tests.hosts.conftest import group_of

testinfra_hosts = ["ansible://web", "ansible://worker"]

SERVICE = {"web": "shop-web", "worker": "shop-worker"}


def test_engine_is_running(host):
    assert host.service("docker").is_running


def test_engine_rotates_container_logs(host):
    daemon = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert daemon["log-opts"]["max-file"] and daemon["log-opts"]["max-size"]


def test_engine_leaves_the_firewall_to_the_host(host):
    daemon = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert daemon["iptables"] is False


def test_shop_service_is_enabled(host):
    assert host.service(SERVICE[group_of(host)]).is_enabled


def test_shop_service_is_running(host):
    assert host.service(SERVICE[group_of(host)]).is_running


def test_container_runs_the_expected_release(host, expected_release):
    name = SERVICE[group_of(host)]
    image = host.check_output(f"docker inspect --format '{{{{.Config.Image}}}}' {name}")
    repository = host.ansible.get_variables()["shop_image_repository"]
    assert image == f"{repository}:{expected_release}"


@pytest.mark.parametrize(
    ("path", "mode"),
    [("/etc/shop", 0o750), ("/etc/shop/shop.env", 0o600)],
)
def test_secrets_are_readable_by_root_only(host, path, mode):
    assert host.file(path).mode == mode


@pytest.mark.parametrize("path", ["/etc/shop", "/etc/shop/shop.env"])
def test_secrets_belong_to_root(host, path):
    assert (host.file(path).user, host.file(path).group) == ("root", "root")


def test_registry_credentials_are_readable_by_root_only(host):
    assert host.file("/root/.docker/config.json").mode == 0o600
