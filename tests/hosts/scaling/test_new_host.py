"""A brand-new web host, launched by its Auto Scaling group with only its first-boot script,
configures itself, tells the group CONTINUE, passes the web hosts' testinfra checks and takes
traffic behind the load balancer, with no Ansible run from outside.

The launch (lab/scaling.py) is started by the proof before the other host checks, so the host's
converge runs beside them; without one, this module launches the host itself. The lab's Auto
Scaling records the host's lifecycle action (lab/aws.py); on CONTINUE this does what the group
then does, registering the host with the load balancer (HAProxy's runtime API standing in for
the target group), checks it, and scales back in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from lab import aws, scaling
from lab import topology as topo

ROOT = Path(__file__).resolve().parents[3]
FIGURES = ROOT / "build" / "lab-scale-out.json"
HAPROXY_DEFAULTS = ROOT / "lab" / "roles" / "haproxy" / "defaults" / "main.yml"
# A first converge installs every package of a web host and pulls the shop's image: minutes on CI.
CONVERGE_DEADLINE_SECONDS = 25 * 60
POLL_SECONDS = 5
REQUESTS_THROUGH_THE_LOAD_BALANCER = 30
# The checks every web host passes (tests/hosts), run against the new host alone.
WEB_CHECKS = ["test_web.py", "test_app_hosts.py", "test_common.py", "test_hardening.py"]


@pytest.fixture(scope="module")
def launch(pytestconfig, expected_release):
    if not pytestconfig.getoption("ansible_inventory") or not aws.PID_FILE.exists():
        pytest.skip("a scale-out needs the lab and its AWS endpoint")
    record = scaling.launched() or scaling.launch(expected_release)
    yield record
    scaling.retire(str(record["instance_id"]))


@pytest.fixture(scope="module")
def lifecycle_action(launch):
    """The host's CompleteLifecycleAction, as the lab's Auto Scaling recorded it."""
    deadline = time.monotonic() + CONVERGE_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        actions = [a for a in aws.lifecycle_actions() if a["InstanceId"] == launch["instance_id"]]
        if actions:
            return actions[-1] | {"converge_seconds": round(actions[-1]["at"] - launch["launched_at"])}
        time.sleep(POLL_SECONDS)
    journal = subprocess.run(
        [
            "/usr/bin/docker",
            "exec",
            topo.NEW_WEB_HOST.container,
            "journalctl",
            "-u",
            "lab-user-data",
            "--no-pager",
            "-n",
            "80",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    pytest.fail(f"no lifecycle action from {launch['host']} within {CONVERGE_DEADLINE_SECONDS} s:\n{journal.stdout}")


@pytest.fixture(scope="module")
def load_balancer(inventory):
    """The lab's HAProxy: its runtime API's socket and the shop's backend (the role's defaults, unless
    the inventory sets them: the inventory alone does not show a role's defaults)."""
    name = inventory.get_hosts("lb")[0]
    variables = yaml.safe_load(HAPROXY_DEFAULTS.read_text()) | inventory.get_variables(name)
    return {"host": name, "socket": variables["haproxy_admin_socket"], "backend": variables["haproxy_backend_name"]}


def _haproxy(inventory, load_balancer, command: str) -> str:
    import testinfra

    lb = testinfra.get_host(
        f"ansible://{load_balancer['host']}?ansible_inventory={inventory.inventory_file}", sudo=True
    )
    return lb.check_output(f"echo '{command}' | socat stdio {load_balancer['socket']}")


def _served(inventory, load_balancer, name: str) -> tuple[str, int]:
    """The server's status and the sessions it has served, from HAProxy's statistics."""
    rows = _haproxy(inventory, load_balancer, "show stat").splitlines()
    header = rows[0].lstrip("# ").split(",")
    for row in rows[1:]:
        fields = dict(zip(header, row.split(","), strict=False))
        if (fields.get("pxname"), fields.get("svname")) == (load_balancer["backend"], name):
            return fields["status"], int(fields["stot"])
    return "absent", 0


@pytest.fixture(scope="module")
def in_service(lifecycle_action, launch, inventory, load_balancer, public_url):
    """On CONTINUE, the host registered with the load balancer; then requests through it."""
    if lifecycle_action["LifecycleActionResult"] != "CONTINUE":
        pytest.fail(f"the host was abandoned: {lifecycle_action}")
    server = f"{load_balancer['backend']}/{launch['host']}"
    _haproxy(inventory, load_balancer, f"add server {server} {launch['address']}:80 check inter 1s rise 2 fall 2")
    _haproxy(inventory, load_balancer, f"enable health {server}")
    _haproxy(inventory, load_balancer, f"enable server {server}")
    try:
        deadline = time.monotonic() + 60
        while _served(inventory, load_balancer, str(launch["host"]))[0] != "UP" and time.monotonic() < deadline:
            time.sleep(1)
        status_before, served_before = _served(inventory, load_balancer, str(launch["host"]))
        answers = [
            requests.get(f"{public_url}/api/v1/products", timeout=10).status_code
            for _ in range(REQUESTS_THROUGH_THE_LOAD_BALANCER)
        ]
        yield {
            "status": status_before,
            "answers": answers,
            "served": _served(inventory, load_balancer, str(launch["host"]))[1] - served_before,
        }
    finally:
        _haproxy(inventory, load_balancer, f"disable server {server}")
        _haproxy(inventory, load_balancer, f"del server {server}")


@pytest.fixture(scope="module")
def web_checks(lifecycle_action, launch, inventory, tmp_path_factory, expected_release):
    """The web hosts' testinfra modules, run against an inventory of the new host alone."""
    directory = tmp_path_factory.mktemp("scale-out-inventory")
    lab_hosts = yaml.safe_load(Path(inventory.inventory_file, "hosts.yml").read_text())
    # Its own known hosts: each launch is a new host with a new key at the same address.
    ssh_args = f"-o UserKnownHostsFile={directory / 'known_hosts'} -o StrictHostKeyChecking=accept-new"
    alone = {
        "all": {
            "vars": lab_hosts["all"]["vars"] | {"ansible_ssh_common_args": ssh_args},
            "children": {"web": {"hosts": {launch["host"]: {"ansible_host": launch["address"]}}}},
        }
    }
    directory.joinpath("hosts.yml").write_text(yaml.safe_dump(alone))
    directory.joinpath("group_vars").symlink_to(Path(inventory.inventory_file, "group_vars").resolve())
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-o",
            "addopts=",
            *[str(ROOT / "tests" / "hosts" / name) for name in WEB_CHECKS],
            f"--ansible-inventory={directory}",
            "--sudo",
        ],
        cwd=ROOT,
        env={**os.environ, "SHOP_RELEASE": expected_release},
        capture_output=True,
        text=True,
        check=False,
    )
    return completed


def test_new_host_tells_its_group_to_put_it_in_service(lifecycle_action, launch):
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps({**launch, **lifecycle_action}, indent=2) + "\n")
    print(
        f"{launch['host']} ({launch['instance_id']}) converged from its first-boot script in "
        f"{lifecycle_action['converge_seconds']} s: {lifecycle_action['LifecycleActionResult']}"
    )
    assert (lifecycle_action["LifecycleHookName"], lifecycle_action["LifecycleActionResult"]) == (
        aws.CONFIGURE_HOOK,
        "CONTINUE",
    )


def test_new_host_passes_the_web_hosts_checks(web_checks):
    assert web_checks.returncode == 0, web_checks.stdout[-6000:]


def test_new_host_takes_traffic_behind_the_load_balancer(in_service):
    assert (in_service["status"], set(in_service["answers"])) == ("UP", {200})
    assert in_service["served"] > 0, in_service
