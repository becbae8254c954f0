"""Every host: sshd's effective settings, and a firewall that opens only what the host serves."""

import json

import pytest

from tests.hosts.conftest import group_of

testinfra_hosts = ["ansible://all"]

# What each kind of host serves beyond its loopback (TCP ports), and so what its firewall lets
# in: SSH and node_exporter everywhere, plus the group's own service.
EXPECTED_PORTS = {
    "web": {22, 80, 8000, 9100},
    "worker": {22, 9100},
    "data": {22, 5432, 5672, 6379, 9100},
    "monitor": {22, 9090, 9093, 9100},
    "lb": {22, 80, 9100},
}


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("permitrootlogin", "no"),
        ("passwordauthentication", "no"),
        ("kbdinteractiveauthentication", "no"),
        ("permitemptypasswords", "no"),
        ("pubkeyauthentication", "yes"),
        ("x11forwarding", "no"),
        ("maxauthtries", "3"),
    ],
)
def test_sshd_setting_is_in_effect(host, setting, value):
    effective = host.check_output("sshd -T")
    assert f"{setting} {value}" in effective.splitlines()


def test_firewall_drops_what_it_does_not_allow(host):
    chain = json.loads(host.check_output("nft -j list chain inet shopstack_firewall input"))
    (policy,) = [item["chain"]["policy"] for item in chain["nftables"] if "chain" in item]
    assert policy == "drop"


def _accepted_ports(host) -> set[int]:
    ruleset = json.loads(host.check_output("nft -j list chain inet shopstack_firewall input"))
    ports = set()
    for item in ruleset["nftables"]:
        for expression in item.get("rule", {}).get("expr", []):
            match = expression.get("match", {})
            if match.get("left", {}).get("payload", {}).get("field") == "dport":
                ports.add(int(match["right"]))
    return ports


def test_firewall_accepts_exactly_the_hosts_services(host):
    assert _accepted_ports(host) == EXPECTED_PORTS[group_of(host)]


def _ports_beyond_loopback(host) -> set[int]:
    ports = set()
    for url in host.socket.get_listening_sockets():
        if not url.startswith("tcp://"):
            continue
        address, port = url[len("tcp://"):].rsplit(":", 1)
        if not (address.startswith("127.") or address == "::1"):
            ports.add(int(port))
    return ports


def test_only_the_hosts_services_listen_beyond_the_loopback(host):
    assert _ports_beyond_loopback(host) <= EXPECTED_PORTS[group_of(host)]
