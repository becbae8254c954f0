"""The AWS inventory rendered from a stack's outputs: checked on files, no cloud needed."""

import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "pipelines"))

import render_aws_inventory as render  # noqa: E402

from infra.outputs import StackOutput  # noqa: E402
from infra.tags import ROLE, HostRole, host_selector  # noqa: E402
from lab.inventory import stack_vars as lab_stack_vars  # noqa: E402

OUTPUTS = {
    **{key.value: f"{key.value}-value" for key in StackOutput},
    StackOutput.REGION: "eu-west-1",
    StackOutput.STACK: "dev",
    StackOutput.SHOP_URL: "https://shop.example.org",
    StackOutput.REGISTRY_URL: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop",
    StackOutput.DATABASE_PORT: 5432,
    StackOutput.CACHE_PORT: 6379,
    StackOutput.BROKER_ENDPOINT: "amqps://b-1.mq.eu-west-1.amazonaws.com:5671",
    StackOutput.HOST_SELECTORS: {str(role): host_selector("dev", role) for role in HostRole},
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    directory = tmp_path_factory.mktemp("aws")
    render.render({str(k): v for k, v in OUTPUTS.items()}, "10.10.0.0/16", directory)
    plugin = yaml.safe_load((directory / "shop.aws_ec2.yml").read_text())
    stack = yaml.safe_load((directory / "group_vars" / "all" / "stack.yml").read_text())
    return plugin, stack


@pytest.mark.parametrize("role", list(HostRole))
def test_plugin_selects_the_stacks_running_hosts_of_each_role(rendered, role):
    plugin, _ = rendered
    assert {**host_selector("dev", role), "instance-state-name": "running"} in plugin["include_filters"]


def test_plugin_groups_hosts_by_their_role_tag(rendered):
    plugin, _ = rendered
    assert {"key": f"tags['{ROLE}']", "prefix": "", "separator": ""} in plugin["keyed_groups"]


def test_plugin_selects_nothing_but_the_stacks_hosts(rendered):
    plugin, _ = rendered
    assert "filters" not in plugin and all("tag:shopstack:stack" in f for f in plugin["include_filters"])


def test_stack_vars_name_everything_the_lab_names(rendered):
    _, stack = rendered
    lab_only = {
        "shop_registry_username",  # ECR logs in through the instance profile
        "shop_data_host",  # the lab's one host standing in for RDS, ElastiCache and the broker
        "shop_database_user",  # AWS reads it from the login's secret
        "shop_monitoring_networks",  # AWS: the VPC (the managed Prometheus's agents are on every host)
        "shop_operator_public_key",  # AWS: Session Manager, no SSH key
        "shop_aws_endpoint_url",  # the lab's emulator; AWS's are the regional defaults
    }
    assert set(lab_stack_vars()) - lab_only <= set(stack)


def test_broker_endpoint_is_split_into_host_and_port(rendered):
    _, stack = rendered
    assert (stack["shop_broker_host"], stack["shop_broker_port"]) == ("b-1.mq.eu-west-1.amazonaws.com", 5671)


def test_registry_is_the_repositorys_host(rendered):
    _, stack = rendered
    assert stack["shop_registry"] == "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
