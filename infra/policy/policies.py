"""shopstack's mandatory policies, checked on every preview and update.

Kept apart from ``__main__.py`` (which serves them to the Pulumi engine and blocks) so tests and
``python -m infra.policy.check`` can call each policy's ``validate`` directly. Policies read
resource properties by their engine names (camelCase), as the Pulumi engine hands them over.
"""

import functools
import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.tags import REQUIRED_TAG_KEYS, ROLE, STACK

# Stacks held to the production rules (Multi-AZ, deletion protection, a week of backups).
PRODUCTION_STACKS = frozenset({"prod"})
# Backups a production database keeps, in days.
PRODUCTION_BACKUP_DAYS = 7
# Ports no security group may open to the whole internet: SSH, RDP, PostgreSQL, Redis, AMQP(S).
PRIVATE_PORTS = (22, 3389, 5432, 6379, 5671, 5672)
ANYWHERE = frozenset({"0.0.0.0/0", "::/0"})

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
REDIS_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
MQ_BROKER = "aws:mq/broker:Broker"
SQS_QUEUE = "aws:sqs/queue:Queue"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EC2_INSTANCE = "aws:ec2/instance:Instance"
EBS_VOLUME = "aws:ebs/volume:Volume"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
AUTOSCALING_GROUP = "aws:autoscaling/group:Group"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"

Check = Callable[[Mapping[str, Any]], Iterable[str]]


def stack_of(urn: str) -> str:
    """``urn:pulumi:<stack>::<project>::<type>::<name>`` -> ``<stack>``."""
    return urn.split("::")[0].removeprefix("urn:pulumi:")


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _policy(
    name: str, description: str, checks: Mapping[str, Check], production_only: bool = False
) -> ResourceValidationPolicy:
    """A policy that runs ``checks[resource type]`` on each resource of those types."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        check = checks.get(args.resource_type)
        if check is None:
            return
        if production_only and stack_of(args.urn) not in PRODUCTION_STACKS:
            return
        for problem in check(args.props):
            report_violation(f"{args.name}: {problem}", None)

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


# -- no publicly accessible data services -------------------------------------------------------


def _not_public(props: Mapping[str, Any]) -> Iterable[str]:
    if _truthy(props.get("publiclyAccessible")):
        yield "publiclyAccessible must be false; data services are reached from the VPC only"


def _cache_in_vpc(props: Mapping[str, Any]) -> Iterable[str]:
    if not props.get("subnetGroupName"):
        yield "subnetGroupName must name a subnet group of private subnets"
    if not props.get("securityGroupIds"):
        yield "securityGroupIds must list the security group that admits only the shop's hosts"


no_public_data_services = _policy(
    "no-public-data-services",
    "Databases, caches and brokers are never reachable from the internet.",
    {
        RDS_INSTANCE: _not_public,
        REDIS_GROUP: _cache_in_vpc,
        MQ_BROKER: _not_public,
    },
)


# -- encryption at rest -------------------------------------------------------------------------


def _flag(prop: str, why: str) -> Check:
    def check(props: Mapping[str, Any]) -> Iterable[str]:
        if not _truthy(props.get(prop)):
            yield f"{prop} must be true ({why})"

    return check


def _launch_template_volumes(props: Mapping[str, Any]) -> Iterable[str]:
    for mapping in props.get("blockDeviceMappings") or []:
        ebs = mapping.get("ebs")
        if ebs is not None and not _truthy(ebs.get("encrypted")):
            yield f"volume {mapping.get('deviceName')} must set ebs.encrypted to true"


def _instance_volumes(props: Mapping[str, Any]) -> Iterable[str]:
    root = props.get("rootBlockDevice") or {}
    if not _truthy(root.get("encrypted")):
        yield "rootBlockDevice.encrypted must be true"
    for device in props.get("ebsBlockDevices") or []:
        if not _truthy(device.get("encrypted")):
            yield f"volume {device.get('deviceName')} must be encrypted"


def _queue_encrypted(props: Mapping[str, Any]) -> Iterable[str]:
    if props.get("sqsManagedSseEnabled") is False and not props.get("kmsMasterKeyId"):
        yield "set sqsManagedSseEnabled or kmsMasterKeyId"


def _broker_encrypted(props: Mapping[str, Any]) -> Iterable[str]:
    options = props.get("encryptionOptions") or {}
    if options.get("useAwsOwnedKey") is False and not options.get("kmsKeyId"):
        yield "encryptionOptions needs useAwsOwnedKey or a kmsKeyId"


def _bucket_encryption_rule(props: Mapping[str, Any]) -> Iterable[str]:
    for rule in props.get("rules") or []:
        default = rule.get("applyServerSideEncryptionByDefault") or {}
        if default.get("sseAlgorithm") not in ("AES256", "aws:kms", "aws:kms:dsse"):
            yield "each rule needs applyServerSideEncryptionByDefault.sseAlgorithm"


encryption_at_rest = _policy(
    "encryption-at-rest",
    "Databases, caches, volumes, queues and buckets store data encrypted.",
    {
        RDS_INSTANCE: _flag("storageEncrypted", "database storage and snapshots"),
        RDS_CLUSTER: _flag("storageEncrypted", "database storage and snapshots"),
        REDIS_GROUP: _flag("atRestEncryptionEnabled", "cache snapshots and swap"),
        LAUNCH_TEMPLATE: _launch_template_volumes,
        EC2_INSTANCE: _instance_volumes,
        EBS_VOLUME: _flag("encrypted", "host volumes"),
        SQS_QUEUE: _queue_encrypted,
        MQ_BROKER: _broker_encrypted,
        BUCKET_ENCRYPTION: _bucket_encryption_rule,
    },
)


def _validate_buckets_encrypted(args: StackValidationArgs, report_violation: ReportViolation):
    encrypted = {
        resource.props.get("bucket") for resource in args.resources if resource.resource_type == BUCKET_ENCRYPTION
    }
    for resource in args.resources:
        if resource.resource_type != BUCKET:
            continue
        inline = resource.props.get("serverSideEncryptionConfiguration")
        if not inline and resource.props.get("bucket") not in encrypted:
            report_violation(
                f"{resource.name}: no BucketServerSideEncryptionConfiguration for this bucket",
                resource.urn,
            )


buckets_encrypted = StackValidationPolicy(
    name="buckets-encrypted",
    description="Every S3 bucket has a default server-side encryption configuration.",
    validate=_validate_buckets_encrypted,
    enforcement_level=EnforcementLevel.MANDATORY,
)


# -- no private ports open to the internet ------------------------------------------------------


def _opens_private_port(protocol: Any, from_port: Any, to_port: Any) -> list[int]:
    if str(protocol) in ("-1", "all"):
        return list(PRIVATE_PORTS)
    if from_port is None or to_port is None:
        return []
    return [port for port in PRIVATE_PORTS if int(from_port) <= port <= int(to_port)]


def _open_to_anyone(*cidr_lists: Any) -> bool:
    return any(
        cidr in ANYWHERE for cidrs in cidr_lists for cidr in ([cidrs] if isinstance(cidrs, str) else cidrs or [])
    )


def _ingress_rule(props: Mapping[str, Any]) -> Iterable[str]:
    if _open_to_anyone(props.get("cidrIpv4"), props.get("cidrIpv6")):
        ports = _opens_private_port(props.get("ipProtocol"), props.get("fromPort"), props.get("toPort"))
        if ports:
            yield f"opens port(s) {ports} to the internet; admit a security group instead"


def _legacy_rule(props: Mapping[str, Any]) -> Iterable[str]:
    if props.get("type") != "ingress":
        return
    if _open_to_anyone(props.get("cidrBlocks"), props.get("ipv6CidrBlocks")):
        ports = _opens_private_port(props.get("protocol"), props.get("fromPort"), props.get("toPort"))
        if ports:
            yield f"opens port(s) {ports} to the internet; admit a security group instead"


def _inline_ingress(props: Mapping[str, Any]) -> Iterable[str]:
    for rule in props.get("ingress") or []:
        if _open_to_anyone(rule.get("cidrBlocks"), rule.get("ipv6CidrBlocks")):
            ports = _opens_private_port(rule.get("protocol"), rule.get("fromPort"), rule.get("toPort"))
            if ports:
                yield f"an ingress rule opens port(s) {ports} to the internet"


no_private_ports_from_internet = _policy(
    "no-private-ports-from-internet",
    "No security group opens SSH, RDP, PostgreSQL, Redis or AMQP to 0.0.0.0/0 or ::/0.",
    {
        INGRESS_RULE: _ingress_rule,
        SECURITY_GROUP_RULE: _legacy_rule,
        SECURITY_GROUP: _inline_ingress,
    },
)


# -- IMDSv2 -------------------------------------------------------------------------------------


def _imdsv2(props: Mapping[str, Any]) -> Iterable[str]:
    options = props.get("metadataOptions") or {}
    if options.get("httpTokens") != "required":
        yield "metadataOptions.httpTokens must be 'required' (IMDSv2 only)"


imdsv2_required = _policy(
    "imdsv2-required",
    "Hosts accept only IMDSv2 (session-token) metadata requests.",
    {LAUNCH_TEMPLATE: _imdsv2, EC2_INSTANCE: _imdsv2},
)


# -- production resilience ----------------------------------------------------------------------


def _cache_multi_az(props: Mapping[str, Any]) -> Iterable[str]:
    yield from _flag("automaticFailoverEnabled", "a replica takes over a failed primary")(props)
    yield from _flag("multiAzEnabled", "replicas sit in other zones")(props)


def _broker_multi_az(props: Mapping[str, Any]) -> Iterable[str]:
    if props.get("deploymentMode") not in ("CLUSTER_MULTI_AZ", "ACTIVE_STANDBY_MULTI_AZ"):
        yield "deploymentMode must be CLUSTER_MULTI_AZ (or ACTIVE_STANDBY_MULTI_AZ)"


prod_multi_az = _policy(
    "prod-multi-az",
    "In production the database, cache and broker survive the loss of a zone.",
    {
        RDS_INSTANCE: _flag("multiAz", "a standby in another zone"),
        REDIS_GROUP: _cache_multi_az,
        MQ_BROKER: _broker_multi_az,
    },
    production_only=True,
)

prod_deletion_protection = _policy(
    "prod-deletion-protection",
    "In production the database cannot be deleted while deletion protection is on.",
    {
        RDS_INSTANCE: _flag("deletionProtection", "an update cannot delete the shop's data"),
        RDS_CLUSTER: _flag("deletionProtection", "an update cannot delete the shop's data"),
    },
    production_only=True,
)


def _backup_retention(props: Mapping[str, Any]) -> Iterable[str]:
    days = props.get("backupRetentionPeriod") or 0
    if float(days) < PRODUCTION_BACKUP_DAYS:
        yield f"backupRetentionPeriod is {days:g} days; production keeps at least {PRODUCTION_BACKUP_DAYS}"


prod_backup_retention = _policy(
    "prod-backup-retention",
    f"In production databases keep at least {PRODUCTION_BACKUP_DAYS} days of backups.",
    {RDS_INSTANCE: _backup_retention, RDS_CLUSTER: _backup_retention},
    production_only=True,
)


# -- tags ---------------------------------------------------------------------------------------


@functools.cache
def is_taggable(resource_type: str) -> bool:
    """Whether the AWS provider's resource class for ``resource_type`` accepts ``tags``."""
    if not resource_type.startswith("aws:") or resource_type.count(":") != 2:
        return False
    _, module_path, class_name = resource_type.split(":")
    module = module_path.split("/")[0]
    package = "pulumi_aws" if module == "index" else f"pulumi_aws.{module}"
    try:
        resource_class = getattr(importlib.import_module(package), class_name)
    except (ImportError, AttributeError):
        return False
    return "tags" in inspect.signature(resource_class._internal_init).parameters


def tag_map(props: Mapping[str, Any]) -> dict[str, Any]:
    """The resource's tags; Auto Scaling groups list them as ``{key, value, ...}`` entries."""
    tags = props.get("tags") or {}
    if isinstance(tags, list):
        return {tag.get("key"): tag.get("value") for tag in tags}
    return dict(tags)


def _validate_tags(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not is_taggable(args.resource_type):
        return
    tags = tag_map(args.props)
    missing = [key for key in REQUIRED_TAG_KEYS if not tags.get(key)]
    if missing:
        report_violation(f"{args.name}: missing required tag(s) {', '.join(missing)}", None)


required_tags = ResourceValidationPolicy(
    name="required-tags",
    description=f"Every taggable AWS resource carries the tags {', '.join(REQUIRED_TAG_KEYS)}.",
    validate=_validate_tags,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _inventory_tags(props: Mapping[str, Any]) -> Iterable[str]:
    propagated = {tag.get("key") for tag in props.get("tags") or [] if _truthy(tag.get("propagateAtLaunch"))}
    for key in (STACK, ROLE):
        if key not in propagated:
            yield f"tag {key} must be propagated to the hosts the group launches"


hosts_carry_inventory_tags = _policy(
    "hosts-carry-inventory-tags",
    "Auto Scaling groups stamp their hosts with the stack and role tags Ansible selects on.",
    {AUTOSCALING_GROUP: _inventory_tags},
)


RESOURCE_POLICIES: list[ResourceValidationPolicy] = [
    no_public_data_services,
    encryption_at_rest,
    no_private_ports_from_internet,
    imdsv2_required,
    prod_multi_az,
    prod_deletion_protection,
    prod_backup_retention,
    required_tags,
    hosts_carry_inventory_tags,
]
STACK_POLICIES: list[StackValidationPolicy] = [buckets_encrypted]
POLICIES = [*RESOURCE_POLICIES, *STACK_POLICIES]
