"""testinfra checks of the hosts, run over SSH against the inventory given on the command line.

    pytest tests/hosts --hosts=ansible://all --ansible-inventory=playbooks/inventories/lab --sudo

The same files run against AWS with ``--ansible-inventory=playbooks/inventories/aws``. A module
names the group it checks with ``testinfra_hosts = ["ansible://<group>"]``; groups an inventory
does not have (AWS has no ``data`` host) give no tests. Without an inventory only the static
checks of the roles are collected, so a plain ``pytest`` never probes the machine it runs on.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from testinfra.utils.ansible_runner import AnsibleRunner

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"
HERE = Path(__file__).resolve().parent
# Modules that check files in the repository rather than hosts.
STATIC_MODULES = {"test_roles.py", "test_aws_inventory.py"}


def pytest_configure(config: pytest.Config) -> None:
    # The lab's inventory holds Vault-encrypted secrets; its password lives in the lab's state.
    lab_vault_password = ROOT / "lab" / ".state" / "vault-password"
    if lab_vault_password.exists():
        os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(lab_vault_password))


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if config.getoption("ansible_inventory", default=None):
        return None
    inside = HERE in collection_path.resolve().parents
    if inside and collection_path.suffix == ".py" and collection_path.name.startswith("test_"):
        return collection_path.name not in STATIC_MODULES
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(item.fspath).resolve()
        if HERE in path.parents and path.name not in STATIC_MODULES:
            item.add_marker(pytest.mark.hosts)


@pytest.fixture(scope="session")
def inventory(pytestconfig: pytest.Config) -> AnsibleRunner:
    return AnsibleRunner(pytestconfig.getoption("ansible_inventory"))


def hostvar(inventory: AnsibleRunner, host: str, name: str):
    """A variable the inventory sets literally (the generated stack vars, ansible_host)."""
    return inventory.get_variables(host)[name]


@pytest.fixture(scope="session")
def public_url(inventory: AnsibleRunner) -> str:
    """The shop's URL through the load balancer (lb-1 in the lab, the ALB in AWS)."""
    first = inventory.get_hosts("all")[0]
    return str(hostvar(inventory, first, "shop_public_url")).rstrip("/")


@pytest.fixture(scope="session")
def expected_release() -> str:
    """The release the hosts should run: SHOP_RELEASE, as the pipeline deployed it."""
    release = os.environ.get("SHOP_RELEASE", "")
    if not release:
        pytest.fail("set SHOP_RELEASE to the release deployed (`make test-hosts` sets it)", pytrace=False)
    return release


def group_of(host) -> str:
    """The role group of a testinfra host (web, worker, data, monitor or lb)."""
    groups = host.ansible.get_variables()["group_names"]
    return next(g for g in ("web", "worker", "data", "monitor", "lb") if g in groups)


@pytest.fixture(scope="session")
def web_hosts(inventory: AnsibleRunner) -> list[str]:
    return inventory.get_hosts("web")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``web_address`` with every web host's address in the inventory, and
    ``operator`` with every operator's account it defines (common_users)."""
    wanted = {"web_address", "operator"} & set(metafunc.fixturenames)
    if not wanted:
        return
    path = metafunc.config.getoption("ansible_inventory", default=None)
    runner = AnsibleRunner(path) if path else None
    if "web_address" in wanted:
        hosts = runner.get_hosts("web") if runner else []
        addresses = [hostvar(runner, name, "ansible_host") for name in hosts]
        metafunc.parametrize("web_address", addresses, ids=hosts)
    if "operator" in wanted:
        first = runner.get_hosts("all")[:1] if runner else []
        users = runner.get_variables(first[0]).get("common_users", []) if first else []
        metafunc.parametrize("operator", [user["name"] for user in users])
