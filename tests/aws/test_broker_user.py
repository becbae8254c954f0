"""broker_user run with ansible-playbook against a RabbitMQ node of the test's own with the management
plugin (the API Amazon MQ for RabbitMQ serves at its console URL is RabbitMQ's own). The shared node
on 5672 is never touched.

The role runs once per module to create the user; the rotation test runs it again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests
from kombu import Connection

from tests.app.own_services import RabbitNode, answering, free_port, wait_until

from .conftest import output, role_tasks, run_play

FIRST_PASSWORD = uuid.uuid4().hex
ADMIN = ("guest", "guest")  # the node's administrator (tag administrator), as Amazon MQ's broker user


class ManagedRabbitNode(RabbitNode):
    """A RabbitNode with the management plugin on a port of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.management_port = free_port()
        (self.directory / "enabled_plugins").write_text("[rabbitmq_management].\n")
        (self.directory / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\n"
            f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {self.management_port}\n")

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.management_port}"

    def start(self) -> None:
        super().start()
        wait_until(lambda: answering(self.management_port), "the management API to listen", timeout=120)


@pytest.fixture(scope="module")
def node() -> Iterator[ManagedRabbitNode]:
    node = ManagedRabbitNode()
    try:
        node.start()
        yield node
    finally:
        node.remove()


def _variables(node: ManagedRabbitNode, password: str) -> dict:
    return {"broker_user_api_url": node.api_url, "broker_user_admin_user": ADMIN[0],
            "broker_user_admin_password": ADMIN[1], "broker_user_name": "shop", "broker_user_password": password,
            "broker_user_vhost": "shop"}


def _converge(node: ManagedRabbitNode, password: str):
    return run_play("Create the shop's broker user", role_tasks("main.yml", "broker_user"), _variables(node, password))


@pytest.fixture(scope="module")
def created(node):
    first = _converge(node, FIRST_PASSWORD)
    assert first.returncode == 0 and "changed=1" in first.stdout, output(first)
    return first


def _connects(node: ManagedRabbitNode, password: str, vhost: str = "shop") -> bool:
    connection = Connection(f"amqp://shop:{password}@127.0.0.1:{node.port}/{vhost}", connect_timeout=5)
    try:
        connection.connect()
        return True
    except Exception:  # noqa: BLE001 - refused logins and vhosts raise several kinds
        return False
    finally:
        connection.release()


def test_the_shop_connects_to_its_vhost(created, node):
    assert _connects(node, FIRST_PASSWORD)


def test_the_shop_has_no_permissions_on_the_default_vhost(created, node):
    assert not _connects(node, FIRST_PASSWORD, vhost="%2F")


def test_the_shops_user_has_no_management_rights(created, node):
    assert requests.get(f"{node.api_url}/api/overview", auth=("shop", FIRST_PASSWORD), timeout=10).status_code == 401


def test_a_second_run_changes_nothing(created, node):
    second = _converge(node, FIRST_PASSWORD)
    assert second.returncode == 0 and "changed=0" in second.stdout, output(second)


def test_a_run_with_a_new_password_rotates_it(created, node):
    rotated = uuid.uuid4().hex
    rotation = _converge(node, rotated)
    assert rotation.returncode == 0 and "changed=1" in rotation.stdout, output(rotation)
    assert (_connects(node, rotated), _connects(node, FIRST_PASSWORD)) == (True, False)
