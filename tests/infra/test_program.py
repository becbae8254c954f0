"""The whole program, run for each stack's real config file, with the policy pack applied."""

import json

import pytest

from infra import config, offline
from infra.config import NetworkSettings
from infra.outputs import DESCRIPTIONS, StackOutput
from infra.policy.check import check
from infra.tags import REQUIRED_TAG_KEYS, ROLE, STACK, HostRole

STACKS = offline.STACKS
TIERS = {"dev": "development", "staging": "staging", "prod": "production"}


# What an operator sets in Pulumi.prod.yaml before the first up, in place of its RFC 2606 placeholders.
PROD_NAMES = {
    "loadBalancer": {"domainName": "shop.shopstack.io"},
    "monitoring": {"alarmEmails": ["oncall@shopstack.io"]},
}


def _with_real_names(values: dict) -> dict:
    for section, changes in PROD_NAMES.items():
        values[f"shopstack:{section}"] = {**values[f"shopstack:{section}"], **changes}
    return values


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_every_stack_passes_the_policy_pack(stack_runs, stack):
    violations = check(stack_runs[stack])
    assert not violations, "\n".join(str(v) for v in violations)


def test_prod_with_its_real_names_passes_the_policy_pack():
    violations = check(offline.run("prod", _with_real_names(offline.stack_config("prod"))))
    assert not violations, "\n".join(str(v) for v in violations)


def test_prod_as_committed_is_refused_for_its_placeholder_domain_and_on_call_address(stack_runs):
    violations = check(stack_runs["prod"])
    assert {v.policy for v in violations} == {"prod-no-placeholders"}, violations
    assert sorted(v.message.split(": ")[1].split(" is ")[0] for v in violations) == [
        "domainName 'shop.example.com'",
        "endpoint 'oncall@example.com'",
    ], violations


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_exports_exactly_the_documented_outputs(stack_runs, stack):
    assert set(stack_runs[stack].outputs) == set(StackOutput) == set(DESCRIPTIONS)


@pytest.mark.parametrize("stack", STACKS)
def test_host_selectors_match_the_tags_the_groups_stamp_on_hosts(stack_runs, stack):
    run = stack_runs[stack]
    selectors = run.outputs[StackOutput.HOST_SELECTORS]
    for role in HostRole:
        group = run.one("aws:autoscaling/group:Group", f"shop-{stack}-{role}-group")
        tags = {f"tag:{t['key']}": t["value"] for t in group.inputs["tags"] if t["propagateAtLaunch"]}
        assert selectors[str(role)].items() <= tags.items(), group.urn
        assert selectors[str(role)] == {f"tag:{STACK}": stack, f"tag:{ROLE}": str(role)}


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_point_at_the_resources(stack_runs, stack):
    run, outputs = stack_runs[stack], stack_runs[stack].outputs
    assert outputs[StackOutput.STACK] == stack and outputs[StackOutput.REGION] == "us-east-1"
    for key, role in ((StackOutput.WEB_GROUP_NAME, "web"), (StackOutput.WORKER_GROUP_NAME, "worker")):
        assert outputs[key] == run.one("aws:autoscaling/group:Group", f"shop-{stack}-{role}-group").state["name"]
    assert outputs[StackOutput.REGISTRY_URL] == run.one("aws:ecr/repository:Repository").state["repositoryUrl"]
    assert outputs[StackOutput.DATABASE_PORT] == 5432 and outputs[StackOutput.DATABASE_NAME] == "shop"
    assert outputs[StackOutput.CACHE_PORT] == 6379
    assert outputs[StackOutput.BROKER_ENDPOINT].startswith("amqps://")
    secret_arns = {s.state["arn"] for s in run.of_type("aws:secretsmanager/secret:Secret")}
    for key in (StackOutput.APP_SECRET_ARN, StackOutput.CACHE_AUTH_SECRET_ARN, StackOutput.BROKER_SECRET_ARN):
        assert outputs[key] in secret_arns, key


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_is_named_from_its_component(stack_runs, stack):
    run = stack_runs[stack]
    by_urn = {r.urn: r for r in run.resources}
    for resource in run.resources:
        parent = by_urn.get(resource.parent)
        if parent is not None:
            assert resource.name.startswith(f"{parent.name}-"), resource.urn


@pytest.mark.parametrize("stack", STACKS)
def test_nothing_is_left_without_the_stack_tags(stack_runs, stack):
    tagged = [r for r in stack_runs[stack].resources if isinstance(r.inputs.get("tags"), dict)]
    assert tagged
    for resource in tagged:
        assert {k: resource.inputs["tags"][k] for k in REQUIRED_TAG_KEYS} == {
            "Project": "shopstack",
            "Environment": stack,
            "ManagedBy": "pulumi",
            "shopstack:stack": stack,
            "shopstack:tier": TIERS[stack],
        }, resource.urn


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_a_stack_without_a_domain_serves_plain_http(stack_runs, stack):
    outputs = stack_runs[stack].outputs
    assert outputs[StackOutput.SHOP_URL] == f"http://{outputs[StackOutput.LOAD_BALANCER_DNS_NAME]}"


def test_prod_serves_https_on_its_domain(stack_runs):
    run = stack_runs["prod"]
    domain = run.config["shopstack:loadBalancer"]["domainName"]
    assert run.outputs[StackOutput.SHOP_URL] == f"https://{domain}"
    assert run.one("aws:acm/certificate:Certificate").inputs["domainName"] == domain
    assert {int(listener.inputs["port"]) for listener in run.of_type("aws:lb/listener:Listener")} == {80, 443}


STATEFUL_TYPES = (
    "aws:rds/instance:Instance",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:mq/broker:Broker",
    "aws:ecr/repository:Repository",
)


@pytest.mark.parametrize("type_token", STATEFUL_TYPES)
def test_prod_protects_what_holds_data(stack_runs, type_token):
    resource = stack_runs["prod"].one(type_token)
    assert resource.protect, resource.urn


@pytest.mark.parametrize("type_token", STATEFUL_TYPES)
def test_dev_can_be_destroyed_whole(stack_runs, type_token):
    resource = stack_runs["dev"].one(type_token)
    assert not resource.protect, resource.urn


def test_protection_follows_the_tier_not_the_stack_name():
    values = _with("staging", "loadBalancer", domainName="shop-staging.example.com")
    values["shopstack:monitoring"] = {**values["shopstack:monitoring"], "alarmEmails": ["oncall@example.com"]}
    values["shopstack:tier"] = "production"
    run = offline.run("staging", values)
    assert run.one("aws:rds/instance:Instance").protect
    assert run.outputs[StackOutput.SHOP_URL] == "https://shop-staging.example.com"


def _readable_secrets(run, role: str) -> set[str]:
    policy = run.one("aws:iam/rolePolicy:RolePolicy", f"shop-{run.stack}-{role}-app")
    (statement,) = [s for s in json.loads(policy.inputs["policy"])["Statement"] if s["Sid"] == "ReadShopSecrets"]
    return set(statement["Resource"])


@pytest.mark.parametrize("role", ["web", "worker"])
@pytest.mark.parametrize(
    "secret",
    [StackOutput.DATABASE_SECRET_ARN, StackOutput.DATABASE_LOGIN_SECRET_ARN, StackOutput.BROKER_ADMIN_SECRET_ARN],
)
def test_no_host_can_read_the_masters_or_the_database_login(stack_runs, role, secret):
    run = stack_runs["prod"]
    assert run.outputs[secret] not in _readable_secrets(run, role)


# A host configuring itself renders the shop's environment: its keys, Redis and the broker.
@pytest.mark.parametrize("role", ["web", "worker"])
def test_each_role_reads_only_the_secrets_the_shops_environment_needs(stack_runs, role):
    run = stack_runs["prod"]
    secrets = {StackOutput.APP_SECRET_ARN, StackOutput.CACHE_AUTH_SECRET_ARN, StackOutput.BROKER_SECRET_ARN}
    assert _readable_secrets(run, role) == {run.outputs[key] for key in secrets}


def test_prod_survives_a_zone(stack_runs):
    run = stack_runs["prod"]
    assert len(run.of_type("aws:ec2/natGateway:NatGateway")) == 3
    assert run.one("aws:rds/instance:Instance").inputs["multiAz"] is True
    assert run.one("aws:mq/broker:Broker").inputs["deploymentMode"] == "CLUSTER_MULTI_AZ"
    assert len(run.one("aws:lb/loadBalancer:LoadBalancer").inputs["subnets"]) == 3


def test_dev_is_one_of_everything(stack_runs):
    run = stack_runs["dev"]
    assert len(run.of_type("aws:ec2/natGateway:NatGateway")) == 1
    assert run.one("aws:elasticache/replicationGroup:ReplicationGroup").inputs["numCacheClusters"] == 1


def _with(stack: str, section: str, **changes) -> dict:
    values = offline.stack_config(stack)
    if stack == "prod":
        values = _with_real_names(values)
    values[f"shopstack:{section}"] = {**values[f"shopstack:{section}"], **changes}
    return values


@pytest.mark.parametrize(
    ("section", "change", "policy", "message"),
    [
        ("database", {"multiAz": False}, "prod-multi-az", "multiAz must be true"),
        ("database", {"deletionProtection": False}, "prod-deletion-protection", "deletionProtection must be true"),
        ("database", {"backupRetentionDays": 3}, "prod-backup-retention", "production keeps at least 7"),
        ("cache", {"nodes": 1, "automaticFailover": False}, "prod-multi-az", "automaticFailoverEnabled must be true"),
        ("broker", {"clustered": False}, "prod-multi-az", "deploymentMode must be CLUSTER_MULTI_AZ"),
    ],
)
def test_a_bad_prod_config_fails_with_the_policy_message(section, change, policy, message):
    violations = check(offline.run("prod", _with("prod", section, **change)))
    assert {v.policy for v in violations} == {policy}, violations
    assert any(message in v.message for v in violations), violations
    assert all(v.urn.startswith("urn:pulumi:prod::shopstack::") for v in violations)


def test_the_same_config_passes_outside_prod():
    assert not check(offline.run("staging", _with("staging", "database", multiAz=False, backupRetentionDays=1)))


@pytest.mark.parametrize(
    ("section", "change", "error"),
    [
        ("network", {"zones": 1}, "network.zones must be at least 2"),
        ("web", {"desiredCapacity": 9}, "minSize <= desiredCapacity <= maxSize"),
        ("cache", {"automaticFailover": True}, "automaticFailover needs at least 2 nodes"),
        ("database", {"maxAllocatedStorageGb": 5}, "maxAllocatedStorageGb is below"),
        ("loadBalancer", {"domainNmae": "typo"}, "unknown setting 'domainNmae'"),
    ],
)
def test_an_invalid_stack_file_is_refused_before_anything_is_planned(section, change, error):
    with pytest.raises(ValueError, match=error):
        offline.run("dev", _with("dev", section, **change))


@pytest.mark.parametrize(
    ("section", "change", "error"),
    [
        ("loadBalancer", {"domainName": None}, "domainName is required in production"),
        ("monitoring", {"alarmEmails": []}, "must name on-call in production"),
        ("database", {"finalSnapshot": False}, "finalSnapshot must be true in production"),
    ],
)
def test_a_production_stack_file_must_name_what_production_needs(section, change, error):
    values = _with("prod", section, **change)
    values[f"shopstack:{section}"] = {k: v for k, v in values[f"shopstack:{section}"].items() if v is not None}
    with pytest.raises(ValueError, match=error):
        offline.run("prod", values)


def test_a_stack_file_without_a_tier_is_refused():
    values = offline.stack_config("staging")
    del values["shopstack:tier"]
    with pytest.raises(Exception, match="shopstack:tier"):
        offline.run("staging", values)


def test_a_missing_secret_names_the_setting_to_set():
    values = offline.stack_config("dev")
    del values["shopstack:brokerPassword"]
    with pytest.raises(Exception, match="shopstack:brokerPassword"):
        offline.run("dev", values)


def test_a_required_setting_cannot_be_left_out():
    with pytest.raises(ValueError, match="missing 1 required positional argument: 'zones'"):
        config.parse_section(
            "network", {"cidr": "10.0.0.0/16", "natPerZone": False, "flowLogRetentionDays": 7}, NetworkSettings
        )
