"""The hardening role on its own: sshd's effective settings and the firewall it loads."""

import json

import pytest


@pytest.mark.parametrize(
    ("setting", "value"),
    [("permitrootlogin", "no"), ("passwordauthentication", "no"),
     ("kbdinteractiveauthentication", "no"), ("maxauthtries", "3")],
)
def test_sshd_setting_is_in_effect(host, setting, value):
    assert f"{setting} {value}" in host.check_output("sshd -T").splitlines()


def test_firewall_is_loaded(host):
    assert host.service("nftables").is_enabled


def test_firewall_accepts_ssh_from_the_allowed_network_only(host):
    rules = host.check_output("nft list chain inet shopstack_firewall input")
    assert "ip saddr 10.0.0.0/8 tcp dport 22 accept" in rules


def test_firewall_accepts_the_configured_service(host):
    rules = json.loads(host.check_output("nft -j list chain inet shopstack_firewall input"))
    ports = [e["match"]["right"] for item in rules["nftables"]
             for e in item.get("rule", {}).get("expr", [])
             if e.get("match", {}).get("left", {}).get("payload", {}).get("field") == "dport"]
    assert 80 in ports
