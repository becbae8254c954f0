"""A second converge of an already converged environment changes nothing."""

import pytest

from tests.hosts.playbook import run_playbook


@pytest.fixture(scope="module")
def second_converge(pytestconfig):
    return run_playbook(pytestconfig.getoption("ansible_inventory"), "site.yml")


def test_second_converge_succeeds(second_converge):
    assert second_converge.returncode == 0, f"see {second_converge.log}"


def test_second_converge_changes_nothing(second_converge):
    changed = {host: counts["changed"] for host, counts in second_converge.recap().items()}
    assert changed and set(changed.values()) == {0}, f"{changed}; see {second_converge.log}"
