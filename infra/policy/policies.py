"""shopstack's mandatory policies, checked on every preview and update.

Kept apart from ``__main__.py`` (which serves them to the Pulumi engine and blocks) so tests and
``python -m infra.policy.check`` can call each policy's ``validate`` directly. Policies read
resource properties by their engine names (camelCase), as the Pulumi engine hands them over.
"""

import functools
import importlib
import inspect
import ipaddress
import json
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.tags import REQUIRED_TAG_KEYS, ROLE, STACK, TIER, Tier

# Backups a production database keeps, in days.
PRODUCTION_BACKUP_DAYS = 7
# The only ports a security group may open to the internet: the load balancer's HTTP and HTTPS.
INTERNET_PORTS = frozenset({80, 443})
# A source range wider than this, reaching beyond private addresses, counts as the internet
# (0.0.0.0/1 is half of it); a partner's or an office's range is far narrower.
WIDEST_IPV4_PREFIX = 16
WIDEST_IPV6_PREFIX = 48

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
BUCKET_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
LISTENER = "aws:lb/listener:Listener"
ACM_CERTIFICATE = "aws:acm/certificate:Certificate"
ROUTE53_ZONE = "aws:route53/zone:Zone"
ROUTE53_RECORD = "aws:route53/record:Record"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
SNS_TOPIC = "aws:sns/topic:Topic"
SNS_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_USER_POLICY = "aws:iam/userPolicy:UserPolicy"
IAM_GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
IAM_ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
# AWS managed policies that amount to '*' (or 'iam:*') on every resource.
WILDCARD_MANAGED_POLICIES = frozenset(
    f"arn:aws:iam::aws:policy/{name}" for name in ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")
)
# What holds the shop's data or images: production keeps these through a mistaken delete.
STATEFUL_TYPES = (RDS_INSTANCE, RDS_CLUSTER, REDIS_GROUP, MQ_BROKER, ECR_REPOSITORY)

Check = Callable[[Mapping[str, Any]], Iterable[str]]


def is_production(stack_tags: Mapping[str, str], props: Mapping[str, Any]) -> bool:
    """Whether the production rules apply: the stack's ``shopstack:tier`` tag (set once on the
    stack in Pulumi Cloud, outside any program or stack file) or the resource's own tier tag,
    which the program stamps from ``shopstack:tier`` in the stack file, says production. Either
    is enough, so a resource cannot opt out by its tag, nor a stack by its name."""
    tier = Tier.PRODUCTION.value
    return stack_tags.get(TIER) == tier or tag_map(props).get(TIER) == tier


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
        if production_only and not is_production(args.stack_tags, args.props):
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
    volumes = [mapping for mapping in props.get("blockDeviceMappings") or [] if mapping.get("ebs") is not None]
    if not volumes:
        # Without a mapping the host boots with the image's own, unencrypted unless the image is.
        yield "blockDeviceMappings must map the root volume with ebs.encrypted true"
    for mapping in volumes:
        if not _truthy(mapping["ebs"].get("encrypted")):
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


# -- only the web ports are open to the internet -----------------------------------------------


def reaches_the_internet(cidr: Any) -> bool:
    """Whether ``cidr`` admits a large share of the internet: any range wider than
    ``WIDEST_IPV4_PREFIX``/``WIDEST_IPV6_PREFIX`` that is not wholly private."""
    try:
        network = ipaddress.ip_network(str(cidr).strip(), strict=False)
    except ValueError:
        # Not an address range (a prefix list id, an unknown): not a CIDR rule to judge here.
        return False
    widest = WIDEST_IPV4_PREFIX if network.version == 4 else WIDEST_IPV6_PREFIX
    return network.prefixlen < widest and not network.is_private


def _open_to_the_internet(*cidr_lists: Any) -> bool:
    return any(
        reaches_the_internet(cidr)
        for cidrs in cidr_lists
        for cidr in ([cidrs] if isinstance(cidrs, str) else cidrs or [])
    )


def _ports_beyond_the_web(protocol: Any, from_port: Any, to_port: Any) -> str | None:
    """The ports a rule opens beyond ``INTERNET_PORTS``, described; None when it opens none."""
    if str(protocol) in ("-1", "all") or from_port is None or to_port is None:
        return "every port"
    low, high = int(float(from_port)), int(float(to_port))
    extra = [port for port in range(low, high + 1) if port not in INTERNET_PORTS]
    if not extra:
        return None
    return f"port {extra[0]}" if len(extra) == 1 else f"ports {low}-{high}"


def _internet_rule(protocol: Any, from_port: Any, to_port: Any, *cidr_lists: Any) -> Iterable[str]:
    if _open_to_the_internet(*cidr_lists):
        opened = _ports_beyond_the_web(protocol, from_port, to_port)
        if opened:
            yield f"opens {opened} to the internet; only {sorted(INTERNET_PORTS)} may be, on the load balancer"


def _ingress_rule(props: Mapping[str, Any]) -> Iterable[str]:
    yield from _internet_rule(
        props.get("ipProtocol"),
        props.get("fromPort"),
        props.get("toPort"),
        props.get("cidrIpv4"),
        props.get("cidrIpv6"),
    )


def _legacy_rule(props: Mapping[str, Any]) -> Iterable[str]:
    if props.get("type") == "ingress":
        yield from _internet_rule(
            props.get("protocol"),
            props.get("fromPort"),
            props.get("toPort"),
            props.get("cidrBlocks"),
            props.get("ipv6CidrBlocks"),
        )


def _inline_ingress(props: Mapping[str, Any]) -> Iterable[str]:
    for rule in props.get("ingress") or []:
        yield from _internet_rule(
            rule.get("protocol"),
            rule.get("fromPort"),
            rule.get("toPort"),
            rule.get("cidrBlocks"),
            rule.get("ipv6CidrBlocks"),
        )


only_web_ports_from_internet = _policy(
    "only-web-ports-from-internet",
    "No security group opens anything but HTTP and HTTPS to the internet (0.0.0.0/0, 0.0.0.0/1, ::/0, ...).",
    {
        INGRESS_RULE: _ingress_rule,
        SECURITY_GROUP_RULE: _legacy_rule,
        SECURITY_GROUP: _inline_ingress,
    },
)


# -- encryption in transit ----------------------------------------------------------------------


def _cache_in_transit(props: Mapping[str, Any]) -> Iterable[str]:
    yield from _flag("transitEncryptionEnabled", "sessions and AUTH tokens cross the network")(props)
    if props.get("transitEncryptionMode") == "preferred":
        yield "transitEncryptionMode must be 'required'; 'preferred' still accepts plaintext clients"


def _broker_in_transit(props: Mapping[str, Any]) -> Iterable[str]:
    # Amazon MQ serves TLS endpoints only; what remains is whom they face.
    if _truthy(props.get("publiclyAccessible")):
        yield "publiclyAccessible must be false; AMQPS is reached from the VPC only"


encryption_in_transit = _policy(
    "encryption-in-transit",
    "Redis and the broker accept TLS connections only, from inside the VPC.",
    {REDIS_GROUP: _cache_in_transit, MQ_BROKER: _broker_in_transit},
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


def _final_snapshot(props: Mapping[str, Any]) -> Iterable[str]:
    if _truthy(props.get("skipFinalSnapshot")):
        yield "skipFinalSnapshot must be false: deleting the database must leave a snapshot"
    elif not props.get("finalSnapshotIdentifier"):
        yield "finalSnapshotIdentifier must name the snapshot taken on delete"


prod_final_snapshot = _policy(
    "prod-final-snapshot",
    "In production deleting a database leaves a final snapshot.",
    {RDS_INSTANCE: _final_snapshot, RDS_CLUSTER: _final_snapshot},
    production_only=True,
)


def _listener_https(props: Mapping[str, Any]) -> Iterable[str]:
    protocol = props.get("protocol")
    if protocol == "HTTPS":
        if not props.get("certificateArn"):
            yield "an HTTPS listener needs certificateArn"
        return
    if protocol != "HTTP":
        return
    actions = props.get("defaultActions") or []
    redirects = [
        action
        for action in actions
        if action.get("type") == "redirect" and (action.get("redirect") or {}).get("protocol") == "HTTPS"
    ]
    if not actions or len(redirects) != len(actions):
        yield "an HTTP listener may only redirect to HTTPS; serve the shop on an HTTPS listener"


prod_https_only = _policy(
    "prod-https-only",
    "In production the load balancer serves HTTPS; plain HTTP only redirects to it.",
    {LISTENER: _listener_https},
    production_only=True,
)


# -- no RFC 2606 placeholders in production ------------------------------------------------------

# Names RFC 2606 reserves for examples and tests: no one receives mail or serves a shop there.
PLACEHOLDER_DOMAINS = frozenset({"example.com", "example.net", "example.org"})
PLACEHOLDER_TOP_LEVEL = frozenset({"example", "test", "invalid", "localhost"})
# Where a stack names its domain or who is paged: the certificate, the DNS names, the alarm subscriptions.
NAMED_PROPERTIES = {
    ACM_CERTIFICATE: ("domainName", "subjectAlternativeNames"),
    ROUTE53_ZONE: ("name",),
    ROUTE53_RECORD: ("name",),
    SNS_SUBSCRIPTION: ("endpoint",),
}


def placeholder_domain(value: Any) -> str | None:
    """The reserved domain ``value`` (a host name, an e-mail address or a URL) is in, if any."""
    if not isinstance(value, str) or not value:
        return None
    host = value.rsplit("@", 1)[-1]
    if "://" in host:
        host = urllib.parse.urlsplit(host).hostname or ""
    host = host.strip().rstrip(".").lower().removeprefix("*.")
    labels = host.split(".")
    if labels[-1] in PLACEHOLDER_TOP_LEVEL:
        return labels[-1]
    if ".".join(labels[-2:]) in PLACEHOLDER_DOMAINS:
        return ".".join(labels[-2:])
    return None


def _validate_no_placeholders(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    # Subscriptions and DNS records take no tags: the stack is production when its tag or any of
    # its resources' tier tags says so.
    if not (is_production(args.stack_tags, {}) or any(is_production({}, r.props) for r in args.resources)):
        return
    for resource in args.resources:
        for prop in NAMED_PROPERTIES.get(resource.resource_type, ()):
            for value in _as_list(resource.props.get(prop)):
                reserved = placeholder_domain(value)
                if reserved:
                    report_violation(
                        f"{resource.name}: {prop} {value!r} is an RFC 2606 placeholder ({reserved}); "
                        "set the shop's real domain and on-call address in the stack file",
                        resource.urn,
                    )


prod_no_placeholders = StackValidationPolicy(
    name="prod-no-placeholders",
    description="In production no domain, DNS name or alarm subscription is an RFC 2606 example name.",
    validate=_validate_no_placeholders,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _validate_protected(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in STATEFUL_TYPES or not is_production(args.stack_tags, args.props):
        return
    # pulumi-policy hands over ``protect`` (not retainOnDelete): protection is what stops
    # `pulumi destroy` and a replacing update alike.
    if not args.opts.protect:
        report_violation(f"{args.name}: a stateful production resource must be created with protect=True", None)


prod_protect_stateful = ResourceValidationPolicy(
    name="prod-protect-stateful",
    description="In production the database, cache, broker and registry carry Pulumi's protect option.",
    validate=_validate_protected,
    enforcement_level=EnforcementLevel.MANDATORY,
)


# -- IAM ----------------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _wildcard_action(action: Any) -> bool:
    return action == "*" or (isinstance(action, str) and action.endswith(":*"))


def wildcard_grants(document: Any) -> list[str]:
    """The actions an IAM policy document allows with a wildcard on every resource."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    grants: list[str] = []
    for statement in _as_list((document or {}).get("Statement") or []):
        if statement.get("Effect") != "Allow" or "*" not in _as_list(statement.get("Resource")):
            continue
        grants += [action for action in _as_list(statement.get("Action")) if _wildcard_action(action)]
        if "NotAction" in statement:
            grants.append("NotAction")
    return grants


def _policy_document(props: Mapping[str, Any]) -> Iterable[str]:
    for action in wildcard_grants(props.get("policy")):
        yield f"allows {action!r} on every resource; name the actions and resources the holder needs"


def _role_policies(props: Mapping[str, Any]) -> Iterable[str]:
    for inline in props.get("inlinePolicies") or []:
        yield from _policy_document(inline)
    for arn in props.get("managedPolicyArns") or []:
        yield from _managed_policy({"policyArn": arn})


def _managed_policy(props: Mapping[str, Any]) -> Iterable[str]:
    if props.get("policyArn") in WILDCARD_MANAGED_POLICIES:
        yield f"attaches {props['policyArn']}, which allows everything it names on every resource"


no_wildcard_iam = _policy(
    "no-wildcard-iam",
    "No IAM policy allows '*' or 'service:*' actions on every resource, nor attaches an AWS admin policy.",
    {
        IAM_POLICY: _policy_document,
        IAM_ROLE_POLICY: _policy_document,
        IAM_USER_POLICY: _policy_document,
        IAM_GROUP_POLICY: _policy_document,
        IAM_ROLE: _role_policies,
        **{attachment: _managed_policy for attachment in IAM_ATTACHMENTS},
    },
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
    missing = [key for key in REQUIRED_TAG_KEYS if not str(tags.get(key) or "").strip()]
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


# -- stack-wide relations -----------------------------------------------------------------------


def refers_to(resource: PolicyResource, prop: str, target: PolicyResource, target_prop: str) -> bool:
    """Whether ``resource.<prop>`` is ``target.<target_prop>``: by the engine's property
    dependencies (known in a preview too), else by value."""
    if any(dependency.urn == target.urn for dependency in resource.property_dependencies.get(prop) or []):
        return True
    value = resource.props.get(prop)
    return value is not None and value == target.props.get(target_prop)


BLOCK_SETTINGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _validate_public_access_blocked(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    blocks = [
        r
        for r in args.resources
        if r.resource_type == BUCKET_PUBLIC_ACCESS_BLOCK and all(_truthy(r.props.get(key)) for key in BLOCK_SETTINGS)
    ]
    for bucket in args.resources:
        if bucket.resource_type == BUCKET and not any(refers_to(b, "bucket", bucket, "bucket") for b in blocks):
            report_violation(
                f"{bucket.name}: no BucketPublicAccessBlock with {', '.join(BLOCK_SETTINGS)} for this bucket",
                bucket.urn,
            )


buckets_block_public_access = StackValidationPolicy(
    name="buckets-block-public-access",
    description="Every S3 bucket has a public access block with all four settings on.",
    validate=_validate_public_access_blocked,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _validate_alarms_reach_someone(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    subscriptions = [r for r in args.resources if r.resource_type == SNS_SUBSCRIPTION]
    for topic in args.resources:
        if topic.resource_type != SNS_TOPIC or not is_production(args.stack_tags, topic.props):
            continue
        if not any(refers_to(s, "topic", topic, "arn") for s in subscriptions):
            report_violation(f"{topic.name}: an alarm topic nobody subscribes to pages no one", topic.urn)


prod_alarms_reach_someone = StackValidationPolicy(
    name="prod-alarms-reach-someone",
    description="In production every SNS topic (the alarms') has at least one subscription.",
    validate=_validate_alarms_reach_someone,
    enforcement_level=EnforcementLevel.MANDATORY,
)


RESOURCE_POLICIES: list[ResourceValidationPolicy] = [
    no_public_data_services,
    encryption_at_rest,
    encryption_in_transit,
    only_web_ports_from_internet,
    imdsv2_required,
    no_wildcard_iam,
    prod_multi_az,
    prod_deletion_protection,
    prod_backup_retention,
    prod_final_snapshot,
    prod_https_only,
    prod_protect_stateful,
    required_tags,
    hosts_carry_inventory_tags,
]
STACK_POLICIES: list[StackValidationPolicy] = [
    buckets_encrypted,
    buckets_block_public_access,
    prod_alarms_reach_someone,
    prod_no_placeholders,
]
POLICIES = [*RESOURCE_POLICIES, *STACK_POLICIES]
