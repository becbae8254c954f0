"""The lock file carries what the AWS side of the playbooks imports."""

import re
import tomllib
from pathlib import Path

import pytest

from infra import offline


@pytest.mark.parametrize("package", ["boto3", "botocore"])
def test_the_hosts_group_locks_the_aws_sdk_the_inventory_needs(package):
    lock = tomllib.loads((offline.ROOT / "uv.lock").read_text())
    (shop,) = [p for p in lock["package"] if p["name"] == "shopstack"]
    assert package in {d["name"] for d in shop["dev-dependencies"]["hosts"]}


# Where a connection plugin is named: the inventories and the documentation.
CONNECTION = re.compile(r"ansible_connection:\s*[\"']*([\w]+\.[\w]+\.[\w]+)")


def _named_connection_plugins() -> set[tuple[str, str]]:
    files = [*offline.ROOT.glob("*.md"), *offline.ROOT.glob("*/README.md"), *offline.ROOT.glob("playbooks/**/*.yml")]
    return {
        (str(path.relative_to(offline.ROOT)), name) for path in files for name in CONNECTION.findall(path.read_text())
    }


def test_connection_plugins_are_named_somewhere():
    assert any(name.endswith(".aws_ssm") for _, name in _named_connection_plugins())


@pytest.mark.parametrize(("where", "name"), sorted(_named_connection_plugins()))
def test_every_connection_plugin_named_is_in_the_locked_collections(where, name):
    import ansible_collections

    namespace, collection, plugin = name.split(".")
    found = [
        Path(root, namespace, collection, "plugins", "connection", f"{plugin}.py")
        for root in ansible_collections.__path__
    ]
    assert any(path.is_file() for path in found), f"{where} names {name}, which no installed collection has"
