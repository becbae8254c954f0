import json

import pytest
import yaml

from infra.components.prometheus import RULES, ManagedPrometheus, ManagedPrometheusArgs
from tests.infra.support import TAGS, build

TOPIC = "arn:aws:sns:us-east-1:123456789012:shop-test-alarms"


@pytest.fixture(scope="module")
def managed():
    args = ManagedPrometheusArgs("us-east-1", "123456789012", TOPIC,
                                 {"web": "shop-test-web-role", "worker": "shop-test-worker-role"}, TAGS)
    return build(lambda: ManagedPrometheus("shop-test", args).remote_write_url)


def test_each_committed_rule_file_is_a_namespace_read_as_it_is_on_disk(managed):
    found = managed.of_type("aws:amp/ruleGroupNamespace:RuleGroupNamespace")
    namespaces = {r.inputs["name"]: r.inputs["data"] for r in found}
    assert namespaces == {path.stem: path.read_text() for path in RULES.glob("*.yml")}


def _routing(managed) -> dict:
    definition = managed.one("aws:amp/alertManagerDefinition:AlertManagerDefinition").inputs["definition"]
    return yaml.safe_load(yaml.safe_load(definition)["alertmanager_config"])


@pytest.mark.parametrize("receiver", ["page", "ticket"])
def test_pages_and_tickets_publish_to_the_alarm_topic_with_sigv4(managed, receiver):
    (sns,) = {r["name"]: r for r in _routing(managed)["receivers"]}[receiver]["sns_configs"]
    assert (sns["topic_arn"], sns["sigv4"]) == (TOPIC, {"region": "us-east-1"})


def test_info_alerts_notify_nobody(managed):
    assert "sns_configs" not in {r["name"]: r for r in _routing(managed)["receivers"]}["blackhole"]


def test_the_routing_is_the_committed_one(managed):
    committed = yaml.safe_load((RULES.parent / "alertmanager" / "alertmanager.yml").read_text())
    assert (_routing(managed)["route"], _routing(managed)["inhibit_rules"]) == (
        committed["route"], committed["inhibit_rules"])


def test_only_this_workspace_may_publish_as_the_prometheus_service(managed):
    policy = managed.one("aws:sns/topicPolicy:TopicPolicy")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    workspace = managed.one("aws:amp/workspace:Workspace")
    assert statements["ManagedPrometheusPublishes"]["Condition"]["ArnEquals"] == {
        "aws:SourceArn": workspace.state["arn"]}, policy.urn


@pytest.mark.parametrize("role", ["web", "worker"])
def test_hosts_may_only_remote_write_to_the_workspace(managed, role):
    policy = managed.one("aws:iam/rolePolicy:RolePolicy", f"shop-test-{role}-remote-write")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    workspace = managed.one("aws:amp/workspace:Workspace")
    assert (statement["Action"], statement["Resource"]) == ("aps:RemoteWrite", workspace.state["arn"]), policy.urn


def test_the_remote_write_url_is_the_workspaces(managed):
    workspace = managed.one("aws:amp/workspace:Workspace")
    assert managed.outputs["checks"] == workspace.state["prometheusEndpoint"] + "api/v1/remote_write"
