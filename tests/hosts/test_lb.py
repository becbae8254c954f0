"""The lab's load balancer: HAProxy health-checks every web host, and only its port 80 is public."""

import pytest

testinfra_hosts = ["ansible://lb"]


def test_haproxy_is_running(host):
    assert host.service("haproxy").is_running


def _server_states(host) -> dict[str, str]:
    # show servers state: ... srv_name (4th) ... srv_op_state (6th), 2 = running
    lines = host.check_output(
        "echo 'show servers state shop' | socat stdio /run/haproxy/admin.sock"
    ).splitlines()
    rows = [line.split() for line in lines[2:] if line.strip()]
    return {row[3]: row[5] for row in rows}


def test_every_web_host_is_in_service(host, web_hosts):
    assert _server_states(host) == dict.fromkeys(web_hosts, "2")


@pytest.mark.parametrize("port", [80])
def test_web_host_serves_the_load_balancer(host, web_address, port):
    host.run_expect([0], f"curl -fsS -o /dev/null --max-time 5 http://{web_address}:{port}/readyz")


@pytest.mark.parametrize("port", [8000, 5000])
def test_web_host_firewall_drops_the_load_balancer_elsewhere(host, web_address, port):
    # curl exits 28 on a timeout: the packets were dropped, not refused.
    host.run_expect([28], f"curl -s --connect-timeout 2 http://{web_address}:{port}/")
