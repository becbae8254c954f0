"""Each policy: a compliant resource passes, and changing one property makes it fail."""

from dataclasses import dataclass
from typing import Any

import pytest

from infra.offline import RegisteredResource
from infra.policy import policies
from infra.policy.check import resource_args, validate_resource, validate_stack
from infra.tags import stack_tags

TAGS = {**stack_tags("shopstack", "prod"), "Name": "shop-prod-thing"}


def urn(type_token: str, name: str, stack: str = "prod") -> str:
    return f"urn:pulumi:{stack}::shopstack::{type_token}::{name}"


@dataclass
class Case:
    policy: Any
    type_token: str
    valid: dict[str, Any]
    # The one property that breaks the rule, and its bad value.
    prop: str
    bad: Any
    message: str

    def __str__(self) -> str:
        return f"{self.policy.name}:{self.type_token.split(':')[-1]}:{self.prop}"


RDS = {
    "engine": "postgres",
    "publiclyAccessible": False,
    "storageEncrypted": True,
    "multiAz": True,
    "deletionProtection": True,
    "backupRetentionPeriod": 14.0,
    "tags": TAGS,
}
REDIS = {
    "subnetGroupName": "shop-prod-cache-subnets",
    "securityGroupIds": ["sg-cache"],
    "atRestEncryptionEnabled": True,
    "automaticFailoverEnabled": True,
    "multiAzEnabled": True,
    "tags": TAGS,
}
BROKER = {
    "engineType": "RabbitMQ",
    "publiclyAccessible": False,
    "deploymentMode": "CLUSTER_MULTI_AZ",
    "encryptionOptions": {"useAwsOwnedKey": True},
    "tags": TAGS,
}
TEMPLATE = {
    "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1.0},
    "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "volumeSize": 20.0}}],
    "tags": TAGS,
}
INSTANCE = {"metadataOptions": {"httpTokens": "required"}, "rootBlockDevice": {"encrypted": True}, "tags": TAGS}
INGRESS = {
    "securityGroupId": "sg-db",
    "ipProtocol": "tcp",
    "fromPort": 5432.0,
    "toPort": 5432.0,
    "referencedSecurityGroupId": "sg-web",
    "tags": TAGS,
}
HTTPS_FROM_ANYWHERE = {
    "securityGroupId": "sg-alb",
    "ipProtocol": "tcp",
    "fromPort": 443.0,
    "toPort": 443.0,
    "cidrIpv4": "0.0.0.0/0",
    "tags": TAGS,
}
LEGACY_RULE = {"type": "ingress", "protocol": "tcp", "fromPort": 22.0, "toPort": 22.0, "cidrBlocks": ["10.0.0.0/8"]}
GROUP = {
    "ingress": [{"protocol": "tcp", "fromPort": 6379.0, "toPort": 6379.0, "cidrBlocks": ["10.0.0.0/16"]}],
    "tags": TAGS,
}
ASG = {
    "tags": [
        {"key": key, "value": value, "propagateAtLaunch": True}
        for key, value in {**TAGS, "shopstack:role": "web"}.items()
    ]
}

CASES = [
    Case(
        policies.no_public_data_services,
        policies.RDS_INSTANCE,
        RDS,
        "publiclyAccessible",
        True,
        "publiclyAccessible must be false",
    ),
    Case(
        policies.no_public_data_services,
        policies.MQ_BROKER,
        BROKER,
        "publiclyAccessible",
        True,
        "publiclyAccessible must be false",
    ),
    Case(
        policies.no_public_data_services,
        policies.REDIS_GROUP,
        REDIS,
        "subnetGroupName",
        None,
        "subnetGroupName must name",
    ),
    Case(
        policies.encryption_at_rest,
        policies.RDS_INSTANCE,
        RDS,
        "storageEncrypted",
        False,
        "storageEncrypted must be true",
    ),
    Case(
        policies.encryption_at_rest,
        policies.REDIS_GROUP,
        REDIS,
        "atRestEncryptionEnabled",
        False,
        "atRestEncryptionEnabled must be true",
    ),
    Case(
        policies.encryption_at_rest,
        policies.LAUNCH_TEMPLATE,
        TEMPLATE,
        "blockDeviceMappings",
        [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}],
        "/dev/xvda must set ebs.encrypted",
    ),
    Case(
        policies.encryption_at_rest,
        policies.EC2_INSTANCE,
        INSTANCE,
        "rootBlockDevice",
        {"encrypted": False},
        "rootBlockDevice.encrypted must be true",
    ),
    Case(
        policies.encryption_at_rest,
        policies.EBS_VOLUME,
        {"encrypted": True, "size": 20.0},
        "encrypted",
        False,
        "encrypted must be true",
    ),
    Case(
        policies.encryption_at_rest,
        policies.SQS_QUEUE,
        {"sqsManagedSseEnabled": True},
        "sqsManagedSseEnabled",
        False,
        "set sqsManagedSseEnabled or kmsMasterKeyId",
    ),
    Case(
        policies.encryption_at_rest,
        policies.MQ_BROKER,
        BROKER,
        "encryptionOptions",
        {"useAwsOwnedKey": False},
        "encryptionOptions needs",
    ),
    Case(
        policies.encryption_at_rest,
        policies.BUCKET_ENCRYPTION,
        {"bucket": "b", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]},
        "rules",
        [{"applyServerSideEncryptionByDefault": {}}],
        "sseAlgorithm",
    ),
    Case(
        policies.no_private_ports_from_internet,
        policies.INGRESS_RULE,
        INGRESS,
        "cidrIpv4",
        "0.0.0.0/0",
        "[5432] to the internet",
    ),
    Case(
        policies.no_private_ports_from_internet,
        policies.INGRESS_RULE,
        {**HTTPS_FROM_ANYWHERE, "fromPort": 0.0, "toPort": 65535.0, "ipProtocol": "tcp", "cidrIpv4": "10.0.0.0/8"},
        "cidrIpv4",
        "0.0.0.0/0",
        "to the internet",
    ),
    Case(
        policies.no_private_ports_from_internet,
        policies.INGRESS_RULE,
        INGRESS,
        "cidrIpv6",
        "::/0",
        "[5432] to the internet",
    ),
    Case(
        policies.no_private_ports_from_internet,
        policies.INGRESS_RULE,
        HTTPS_FROM_ANYWHERE,
        "ipProtocol",
        "-1",
        "to the internet",
    ),
    Case(
        policies.no_private_ports_from_internet,
        policies.SECURITY_GROUP_RULE,
        LEGACY_RULE,
        "cidrBlocks",
        ["0.0.0.0/0"],
        "[22] to the internet",
    ),
    Case(
        policies.no_private_ports_from_internet,
        policies.SECURITY_GROUP,
        GROUP,
        "ingress",
        [{"protocol": "tcp", "fromPort": 6379.0, "toPort": 6379.0, "cidrBlocks": ["0.0.0.0/0"]}],
        "[6379] to the internet",
    ),
    Case(
        policies.imdsv2_required,
        policies.LAUNCH_TEMPLATE,
        TEMPLATE,
        "metadataOptions",
        {"httpTokens": "optional"},
        "httpTokens must be 'required'",
    ),
    Case(
        policies.imdsv2_required,
        policies.EC2_INSTANCE,
        INSTANCE,
        "metadataOptions",
        {},
        "httpTokens must be 'required'",
    ),
    Case(policies.prod_multi_az, policies.RDS_INSTANCE, RDS, "multiAz", False, "multiAz must be true"),
    Case(
        policies.prod_multi_az,
        policies.REDIS_GROUP,
        REDIS,
        "automaticFailoverEnabled",
        False,
        "automaticFailoverEnabled must be true",
    ),
    Case(policies.prod_multi_az, policies.REDIS_GROUP, REDIS, "multiAzEnabled", False, "multiAzEnabled must be true"),
    Case(
        policies.prod_multi_az,
        policies.MQ_BROKER,
        BROKER,
        "deploymentMode",
        "SINGLE_INSTANCE",
        "deploymentMode must be CLUSTER_MULTI_AZ",
    ),
    Case(
        policies.prod_deletion_protection,
        policies.RDS_INSTANCE,
        RDS,
        "deletionProtection",
        False,
        "deletionProtection must be true",
    ),
    Case(
        policies.prod_backup_retention,
        policies.RDS_INSTANCE,
        RDS,
        "backupRetentionPeriod",
        6.0,
        "backupRetentionPeriod is 6 days",
    ),
    Case(
        policies.required_tags,
        policies.RDS_INSTANCE,
        RDS,
        "tags",
        {k: v for k, v in TAGS.items() if k != "Project"},
        "missing required tag(s) Project",
    ),
    Case(
        policies.required_tags,
        policies.AUTOSCALING_GROUP,
        ASG,
        "tags",
        [t for t in ASG["tags"] if t["key"] != "ManagedBy"],
        "missing required tag(s) ManagedBy",
    ),
    Case(
        policies.hosts_carry_inventory_tags,
        policies.AUTOSCALING_GROUP,
        ASG,
        "tags",
        [t for t in ASG["tags"] if t["key"] != "shopstack:role"],
        "tag shopstack:role must be propagated",
    ),
    Case(
        policies.hosts_carry_inventory_tags,
        policies.AUTOSCALING_GROUP,
        ASG,
        "tags",
        [{**t, "propagateAtLaunch": False} for t in ASG["tags"]],
        "tag shopstack:stack must be propagated",
    ),
]


def messages(case: Case, props: dict[str, Any], stack: str = "prod") -> list[str]:
    name = "shop-prod-thing"
    args = resource_args(case.type_token, props, urn(case.type_token, name, stack), name)
    return validate_resource(case.policy, args)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_compliant_resource_passes(case):
    assert messages(case, case.valid) == []


@pytest.mark.parametrize("case", CASES, ids=str)
def test_changing_one_property_fails_with_the_reason(case):
    found = messages(case, {**case.valid, case.prop: case.bad})
    assert found and all(m.startswith("shop-prod-thing: ") for m in found), found
    assert any(case.message in m for m in found), found


@pytest.mark.parametrize("case", [c for c in CASES if c.policy.name.startswith("prod-")], ids=str)
def test_production_rules_do_not_apply_to_other_stacks(case):
    assert messages(case, {**case.valid, case.prop: case.bad}, stack="staging") == []


def test_every_policy_is_mandatory_and_tested():
    tested = {case.policy.name for case in CASES} | {policies.buckets_encrypted.name}
    assert tested == {policy.name for policy in policies.POLICIES}
    assert {p.enforcement_level.value for p in policies.POLICIES} == {"mandatory"}


def test_resources_that_take_no_tags_are_not_asked_for_them():
    assert policies.is_taggable(policies.RDS_INSTANCE)
    assert not policies.is_taggable("aws:iam/rolePolicy:RolePolicy")
    assert not policies.is_taggable("shopstack:database:Database")


def _bucket_stack(encrypted_bucket: str) -> list[RegisteredResource]:
    def registered(type_token: str, name: str, state: dict[str, Any]) -> RegisteredResource:
        return RegisteredResource(urn(type_token, name), type_token, name, "", True, name, state, state)

    return [
        registered(policies.BUCKET, "shop-prod-ssm-bucket", {"bucket": "shop-prod-ssm-bucket-1a2b", "tags": TAGS}),
        registered(policies.BUCKET_ENCRYPTION, "shop-prod-ssm-bucket", {"bucket": encrypted_bucket}),
    ]


def test_encrypted_bucket_passes():
    assert validate_stack(policies.buckets_encrypted, _bucket_stack("shop-prod-ssm-bucket-1a2b")) == []


def test_bucket_whose_encryption_names_another_bucket_fails():
    (found,) = validate_stack(policies.buckets_encrypted, _bucket_stack("some-other-bucket"))
    message, resource_urn = found
    assert "no BucketServerSideEncryptionConfiguration" in message
    assert resource_urn == urn(policies.BUCKET, "shop-prod-ssm-bucket")
