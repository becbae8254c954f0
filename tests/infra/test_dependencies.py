"""The lock file carries what the AWS side of the playbooks imports."""

import tomllib

import pytest

from infra import offline


@pytest.mark.parametrize("package", ["boto3", "botocore"])
def test_the_hosts_group_locks_the_aws_sdk_the_inventory_needs(package):
    lock = tomllib.loads((offline.ROOT / "uv.lock").read_text())
    (shop,) = [p for p in lock["package"] if p["name"] == "shopstack"]
    assert package in {d["name"] for d in shop["dev-dependencies"]["hosts"]}
