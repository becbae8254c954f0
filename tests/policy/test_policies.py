"""Each policy: a compliant resource passes, and changing one property makes it fail."""

import json
from dataclasses import dataclass
from typing import Any

import pytest

from infra.offline import RegisteredResource
from infra.policy import policies
from infra.policy.check import resource_args, validate_resource, validate_stack
from infra.tags import TIER, Tier, stack_tags

TAGS = {**stack_tags("shopstack", "prod", Tier.PRODUCTION), "Name": "shop-prod-thing"}
STAGING_TAGS = {**TAGS, TIER: str(Tier.STAGING)}


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
    "skipFinalSnapshot": False,
    "finalSnapshotIdentifier": "shop-prod-db-final-1a2b3c",
    "tags": TAGS,
}
REDIS = {
    "subnetGroupName": "shop-prod-cache-subnets",
    "securityGroupIds": ["sg-cache"],
    "atRestEncryptionEnabled": True,
    "transitEncryptionEnabled": True,
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
HTTPS_LISTENER = {
    "protocol": "HTTPS",
    "port": 443.0,
    "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/shop",
    "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg"}],
    "tags": TAGS,
}
HTTP_LISTENER = {
    "protocol": "HTTP",
    "port": 80.0,
    "defaultActions": [
        {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}
    ],
    "tags": TAGS,
}
HOST_POLICY = {
    "role": "shop-prod-web-role",
    "policy": json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
                {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": ["arn:secret"]},
            ],
        }
    ),
}


def _granting(action: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})


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
        policies.only_web_ports_from_internet,
        policies.INGRESS_RULE,
        INGRESS,
        "cidrIpv4",
        "0.0.0.0/0",
        "opens port 5432 to the internet",
    ),
    Case(
        policies.only_web_ports_from_internet,
        policies.INGRESS_RULE,
        {**HTTPS_FROM_ANYWHERE, "fromPort": 0.0, "toPort": 65535.0, "ipProtocol": "tcp", "cidrIpv4": "10.0.0.0/8"},
        "cidrIpv4",
        "0.0.0.0/0",
        "to the internet",
    ),
    Case(
        policies.only_web_ports_from_internet,
        policies.INGRESS_RULE,
        INGRESS,
        "cidrIpv6",
        "::/0",
        "opens port 5432 to the internet",
    ),
    Case(
        policies.only_web_ports_from_internet,
        policies.INGRESS_RULE,
        HTTPS_FROM_ANYWHERE,
        "ipProtocol",
        "-1",
        "to the internet",
    ),
    Case(
        policies.only_web_ports_from_internet,
        policies.SECURITY_GROUP_RULE,
        LEGACY_RULE,
        "cidrBlocks",
        ["0.0.0.0/0"],
        "opens port 22 to the internet",
    ),
    Case(
        policies.only_web_ports_from_internet,
        policies.SECURITY_GROUP,
        GROUP,
        "ingress",
        [{"protocol": "tcp", "fromPort": 6379.0, "toPort": 6379.0, "cidrBlocks": ["0.0.0.0/0"]}],
        "opens port 6379 to the internet",
    ),
    Case(
        policies.encryption_at_rest,
        policies.LAUNCH_TEMPLATE,
        TEMPLATE,
        "blockDeviceMappings",
        [],
        "blockDeviceMappings must map the root volume",
    ),
    Case(
        policies.only_web_ports_from_internet,
        policies.INGRESS_RULE,
        INGRESS,
        "cidrIpv4",
        "0.0.0.0/1",
        "opens port 5432 to the internet",
    ),
    Case(
        policies.only_web_ports_from_internet,
        policies.INGRESS_RULE,
        INGRESS,
        "cidrIpv4",
        "64.0.0.0/2",
        "opens port 5432 to the internet",
    ),
    Case(
        policies.only_web_ports_from_internet,
        policies.INGRESS_RULE,
        INGRESS,
        "cidrIpv6",
        "::/1",
        "opens port 5432 to the internet",
    ),
    Case(
        policies.only_web_ports_from_internet,
        policies.INGRESS_RULE,
        HTTPS_FROM_ANYWHERE,
        "toPort",
        8080.0,
        "opens ports 443-8080 to the internet",
    ),
    Case(
        policies.only_web_ports_from_internet,
        policies.INGRESS_RULE,
        {**HTTPS_FROM_ANYWHERE, "cidrIpv4": "10.0.0.0/8", "fromPort": 9200.0, "toPort": 9200.0},
        "cidrIpv4",
        "0.0.0.0/0",
        "opens port 9200 to the internet",
    ),
    Case(
        policies.encryption_in_transit,
        policies.REDIS_GROUP,
        REDIS,
        "transitEncryptionEnabled",
        False,
        "transitEncryptionEnabled must be true",
    ),
    Case(
        policies.encryption_in_transit,
        policies.REDIS_GROUP,
        REDIS,
        "transitEncryptionMode",
        "preferred",
        "transitEncryptionMode must be 'required'",
    ),
    Case(
        policies.encryption_in_transit,
        policies.MQ_BROKER,
        BROKER,
        "publiclyAccessible",
        True,
        "AMQPS is reached from the VPC only",
    ),
    Case(
        policies.no_wildcard_iam,
        policies.IAM_ROLE_POLICY,
        HOST_POLICY,
        "policy",
        _granting("*"),
        "allows '*' on every resource",
    ),
    Case(
        policies.no_wildcard_iam,
        policies.IAM_POLICY,
        HOST_POLICY,
        "policy",
        _granting(["ecr:GetAuthorizationToken", "secretsmanager:*"]),
        "allows 'secretsmanager:*' on every resource",
    ),
    Case(
        policies.no_wildcard_iam,
        policies.IAM_ROLE,
        {"inlinePolicies": [{"name": "app", "policy": HOST_POLICY["policy"]}], "tags": TAGS},
        "inlinePolicies",
        [{"name": "app", "policy": _granting("s3:*")}],
        "allows 's3:*' on every resource",
    ),
    Case(
        policies.no_wildcard_iam,
        policies.IAM_ROLE_POLICY,
        HOST_POLICY,
        "policy",
        json.dumps({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}),
        "allows 'NotAction' on every resource",
    ),
    Case(
        policies.no_wildcard_iam,
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        {"role": "shop-prod-web-role", "policyArn": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"},
        "policyArn",
        "arn:aws:iam::aws:policy/AdministratorAccess",
        "attaches arn:aws:iam::aws:policy/AdministratorAccess",
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
        policies.prod_final_snapshot,
        policies.RDS_INSTANCE,
        RDS,
        "skipFinalSnapshot",
        True,
        "skipFinalSnapshot must be false",
    ),
    Case(
        policies.prod_final_snapshot,
        policies.RDS_INSTANCE,
        RDS,
        "finalSnapshotIdentifier",
        None,
        "finalSnapshotIdentifier must name",
    ),
    Case(
        policies.prod_https_only,
        policies.LISTENER,
        HTTP_LISTENER,
        "defaultActions",
        [{"type": "forward", "targetGroupArn": "arn:tg"}],
        "an HTTP listener may only redirect to HTTPS",
    ),
    Case(
        policies.prod_https_only,
        policies.LISTENER,
        HTTPS_LISTENER,
        "protocol",
        "HTTP",
        "an HTTP listener may only redirect to HTTPS",
    ),
    Case(
        policies.prod_https_only,
        policies.LISTENER,
        HTTPS_LISTENER,
        "certificateArn",
        None,
        "an HTTPS listener needs certificateArn",
    ),
    Case(
        policies.required_tags,
        policies.RDS_INSTANCE,
        RDS,
        "tags",
        {**TAGS, "Project": "  "},
        "missing required tag(s) Project",
    ),
    Case(
        policies.required_tags,
        policies.RDS_INSTANCE,
        RDS,
        "tags",
        {**TAGS, TIER: ""},
        "missing required tag(s) shopstack:tier",
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


def messages(
    case: Case, props: dict[str, Any], stack: str = "prod", stack_tags: dict[str, str] | None = None
) -> list[str]:
    name = "shop-prod-thing"
    args = resource_args(case.type_token, props, urn(case.type_token, name, stack), name, stack_tags=stack_tags)
    return validate_resource(case.policy, args)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_compliant_resource_passes(case):
    assert messages(case, case.valid) == []


@pytest.mark.parametrize("case", CASES, ids=str)
def test_changing_one_property_fails_with_the_reason(case):
    found = messages(case, {**case.valid, case.prop: case.bad})
    assert found and all(m.startswith("shop-prod-thing: ") for m in found), found
    assert any(case.message in m for m in found), found


PRODUCTION_CASES = [c for c in CASES if c.policy.name.startswith("prod-")]


@pytest.mark.parametrize("case", PRODUCTION_CASES, ids=str)
def test_production_rules_skip_a_staging_tier_resource_even_in_a_stack_named_prod(case):
    assert messages(case, {**case.valid, case.prop: case.bad, "tags": STAGING_TAGS}, stack="prod") == []


@pytest.mark.parametrize("case", PRODUCTION_CASES, ids=str)
def test_a_production_stack_tag_applies_the_rules_whatever_the_stack_name(case):
    bad = {**case.valid, case.prop: case.bad, "tags": STAGING_TAGS}
    assert messages(case, bad, stack="shop-live", stack_tags={TIER: str(Tier.PRODUCTION)}), case


def protected_messages(type_token: str, props: dict[str, Any], protect: bool) -> list[str]:
    name = "shop-prod-thing"
    args = resource_args(type_token, props, urn(type_token, name), name, protect=protect)
    return validate_resource(policies.prod_protect_stateful, args)


STATEFUL = [
    (policies.RDS_INSTANCE, RDS),
    (policies.REDIS_GROUP, REDIS),
    (policies.MQ_BROKER, BROKER),
    (policies.ECR_REPOSITORY, {"imageTagMutability": "IMMUTABLE", "tags": TAGS}),
]


@pytest.mark.parametrize(
    ("type_token", "props"), STATEFUL, ids=lambda v: v.split(":")[-1] if isinstance(v, str) else ""
)
def test_a_protected_stateful_resource_passes(type_token, props):
    assert protected_messages(type_token, props, protect=True) == []


@pytest.mark.parametrize(
    ("type_token", "props"), STATEFUL, ids=lambda v: v.split(":")[-1] if isinstance(v, str) else ""
)
def test_an_unprotected_stateful_resource_fails_in_production(type_token, props):
    (message,) = protected_messages(type_token, props, protect=False)
    assert "must be created with protect=True" in message


def test_an_unprotected_stateful_resource_passes_outside_production():
    assert protected_messages(policies.RDS_INSTANCE, {**RDS, "tags": STAGING_TAGS}, protect=False) == []


def test_protection_is_not_asked_of_stateless_resources():
    assert protected_messages(policies.LAUNCH_TEMPLATE, TEMPLATE, protect=False) == []


def test_every_policy_is_mandatory_and_tested():
    tested = {case.policy.name for case in CASES} | {
        policies.buckets_encrypted.name,
        policies.buckets_block_public_access.name,
        policies.prod_alarms_reach_someone.name,
        policies.prod_protect_stateful.name,
        policies.prod_no_placeholders.name,
    }
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


def registered(
    type_token: str, name: str, state: dict[str, Any], property_dependencies: dict | None = None
) -> RegisteredResource:
    return RegisteredResource(
        urn(type_token, name), type_token, name, "", True, name, state, state, (), property_dependencies or {}
    )


BUCKET = registered(policies.BUCKET, "shop-prod-ssm-bucket", {"bucket": "shop-prod-ssm-bucket-1a2b", "tags": TAGS})
BLOCK = {
    "bucket": "shop-prod-ssm-bucket-1a2b",
    "blockPublicAcls": True,
    "blockPublicPolicy": True,
    "ignorePublicAcls": True,
    "restrictPublicBuckets": True,
}


def public_access_verdict(block: dict[str, Any]) -> list[tuple[str, str]]:
    stack = [BUCKET, registered(policies.BUCKET_PUBLIC_ACCESS_BLOCK, "shop-prod-ssm-bucket", block)]
    return validate_stack(policies.buckets_block_public_access, stack)


def test_a_bucket_with_a_full_public_access_block_passes():
    assert public_access_verdict(BLOCK) == []


def test_a_bucket_whose_block_leaves_public_policies_allowed_fails():
    (found,) = public_access_verdict({**BLOCK, "blockPublicPolicy": False})
    assert "no BucketPublicAccessBlock" in found[0] and found[1] == BUCKET.urn


def test_a_block_on_another_bucket_does_not_cover_this_one():
    (found,) = public_access_verdict({**BLOCK, "bucket": "some-other-bucket"})
    assert found[1] == BUCKET.urn


def test_a_block_is_matched_by_dependency_when_the_name_is_unknown_in_a_preview():
    block = registered(
        policies.BUCKET_PUBLIC_ACCESS_BLOCK,
        "shop-prod-ssm-bucket",
        {**BLOCK, "bucket": None},
        {"bucket": (BUCKET.urn,)},
    )
    assert validate_stack(policies.buckets_block_public_access, [BUCKET, block]) == []


TOPIC = {"name": "shop-prod-alarms", "arn": "arn:aws:sns:us-east-1:123456789012:shop-prod-alarms", "tags": TAGS}


def alarm_topic_verdict(topic: dict[str, Any], subscribed_to: str | None) -> list[tuple[str, str]]:
    stack = [registered(policies.SNS_TOPIC, "shop-prod-alarms", topic)]
    if subscribed_to is not None:
        subscription = {"topic": subscribed_to, "protocol": "email", "endpoint": "oncall@example.com"}
        stack.append(registered(policies.SNS_SUBSCRIPTION, "shop-prod-alarms-oncall", subscription))
    return validate_stack(policies.prod_alarms_reach_someone, stack)


def test_a_subscribed_alarm_topic_passes():
    assert alarm_topic_verdict(TOPIC, subscribed_to=TOPIC["arn"]) == []


def test_a_production_alarm_topic_nobody_subscribes_to_fails():
    (found,) = alarm_topic_verdict(TOPIC, subscribed_to="arn:aws:sns:us-east-1:123456789012:another-topic")
    assert "pages no one" in found[0] and found[1] == urn(policies.SNS_TOPIC, "shop-prod-alarms")


def test_an_unsubscribed_topic_is_allowed_outside_production():
    assert alarm_topic_verdict({**TOPIC, "tags": STAGING_TAGS}, subscribed_to=None) == []


CERTIFICATE = {"domainName": "shop.shopstack.io", "validationMethod": "DNS", "tags": TAGS}
ONCALL = {"topic": TOPIC["arn"], "protocol": "email", "endpoint": "oncall@shopstack.io"}
ALIAS = {"name": "shop.shopstack.io", "type": "A", "zoneId": "Z0123456789ABCDEFGHIJ"}


def placeholder_verdict(
    changes: dict[str, dict[str, Any]], tags: dict[str, str] = TAGS, stack_tags: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    """The policy on a stack of a certificate, an alarm subscription and a DNS record, each with
    ``changes[type]`` applied; the certificate carries ``tags``."""
    stack = [
        registered(
            policies.ACM_CERTIFICATE,
            "shop-prod-lb-certificate",
            {**CERTIFICATE, "tags": tags, **changes.get(policies.ACM_CERTIFICATE, {})},
        ),
        registered(
            policies.SNS_SUBSCRIPTION,
            "shop-prod-alarms-oncall",
            {**ONCALL, **changes.get(policies.SNS_SUBSCRIPTION, {})},
        ),
        registered(
            policies.ROUTE53_RECORD, "shop-prod-lb-alias", {**ALIAS, **changes.get(policies.ROUTE53_RECORD, {})}
        ),
    ]
    return validate_stack(policies.prod_no_placeholders, stack, stack_tags)


def test_a_production_stack_with_real_names_passes():
    assert placeholder_verdict({}) == []


@pytest.mark.parametrize(
    ("type_token", "prop", "bad"),
    [
        (policies.ACM_CERTIFICATE, "domainName", "shop.example.com"),
        (policies.ACM_CERTIFICATE, "subjectAlternativeNames", ["www.shopstack.io", "www.shop.test"]),
        (policies.SNS_SUBSCRIPTION, "endpoint", "oncall@example.com"),
        (policies.SNS_SUBSCRIPTION, "endpoint", "https://hooks.example.net/alarms"),
        (policies.ROUTE53_RECORD, "name", "shop.example.org."),
    ],
    ids=lambda v: v if isinstance(v, str) and ":" not in v else None,
)
def test_a_placeholder_in_production_fails(type_token, prop, bad):
    (found,) = placeholder_verdict({type_token: {prop: bad}})
    assert "RFC 2606 placeholder" in found[0] and prop in found[0], found
    assert found[1].split("::")[2] == type_token, found


def test_a_subscription_without_tags_is_checked_because_the_stack_tag_says_production():
    found = placeholder_verdict(
        {policies.SNS_SUBSCRIPTION: {"endpoint": "oncall@example.com"}},
        tags=STAGING_TAGS,
        stack_tags={TIER: str(Tier.PRODUCTION)},
    )
    assert [urn.split("::")[-1] for _, urn in found] == ["shop-prod-alarms-oncall"]


def test_placeholders_are_allowed_outside_production():
    changes = {
        policies.ACM_CERTIFICATE: {"domainName": "shop.example.com"},
        policies.SNS_SUBSCRIPTION: {"endpoint": "oncall@example.com"},
    }
    assert placeholder_verdict(changes, tags=STAGING_TAGS) == []


@pytest.mark.parametrize(
    "value",
    [
        "example.com",
        "shop.example.com",
        "oncall@EXAMPLE.org",
        "*.shop.example.net",
        "shop.example",
        "db.test",
        "nowhere.invalid.",
        "localhost",
        "http://shop.localhost:8000/",
        "ops@alerts.example.com",
    ],
)
def test_each_reserved_name_is_a_placeholder(value):
    assert policies.placeholder_domain(value)


@pytest.mark.parametrize(
    "value",
    [
        "shopstack.io",
        "example.company.com",
        "notexample.com",
        "shop.testing.io",
        "oncall@invalidation.org",
        "https://example.co.uk/",
        "",
        None,
    ],
)
def test_names_that_only_resemble_a_reserved_one_are_not(value):
    assert policies.placeholder_domain(value) is None
