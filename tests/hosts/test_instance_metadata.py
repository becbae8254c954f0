"""App hosts: the app's user is refused the instance metadata service (and so the instance role's
credentials); root, the engine and the agents are not.

The shop's containers use the host's network, so IMDSv2's hop limit does not keep them out; an
nftables rule matching the socket's owner does. The docker role's molecule scenario `metadata`
runs this file too.
"""

import errno

import pytest

testinfra_hosts = ["ansible://web", "ansible://worker"]

# The user the shop's image runs as (Dockerfile: USER 10001).
APP_UID = 10001
METADATA_ADDRESS = "169.254.169.254"
# Connects once (2 s at most) and exits with the connection's errno, 0 when it connected.
PROBE = (
    "python3 -c 'import socket, sys; s = socket.socket(); s.settimeout(2); "
    f'sys.exit(s.connect_ex(("{METADATA_ADDRESS}", 80)))\''
)


def test_metadata_block_is_loaded_at_boot(host):
    assert host.service("instance-metadata-block").is_enabled


@pytest.mark.parametrize("address", [METADATA_ADDRESS, "fd00:ec2::254"])
def test_metadata_block_rejects_the_app_user(host, address):
    rules = host.check_output("nft list chain inet shopstack_metadata output")
    assert [line for line in rules.splitlines()
            if f"meta skuid {APP_UID}" in line and f"daddr {address}" in line and "reject" in line] != []


def test_app_user_is_refused_the_metadata_service(host):
    host.run_expect([errno.ECONNREFUSED], f"setpriv --reuid {APP_UID} --regid {APP_UID} --clear-groups {PROBE}")


def test_root_is_not_refused_the_metadata_service(host):
    # Root may reach it, time out or find no route (the lab has no metadata service); only a
    # refusal would be this rule catching the wrong user.
    probe = host.run(PROBE)
    assert probe.rc != errno.ECONNREFUSED, probe.stderr
