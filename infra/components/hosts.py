"""A group of Debian 12 hosts with one role (web or worker): launch template + Auto Scaling group.

Hosts sit in the private subnets with no SSH key and no inbound port but what the firewall allows;
operators and Ansible reach them through Session Manager. Ansible finds them by the
``shopstack:stack`` and ``shopstack:role`` tags, which the group stamps on every host it launches.
"""

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra.components import bundle
from infra.config import HostGroupSettings
from infra.tags import HostRole, resource_tags

# Debian's AWS account; it publishes the official images.
DEBIAN_IMAGE_OWNER = "136693071363"
DEBIAN_IMAGE_NAME = "debian-12-amd64-*"
BOOTSTRAP = Path(__file__).with_name("host-bootstrap.sh")
FIRST_BOOT = Path(__file__).with_name("host_first_boot.py")
# The launch lifecycle hook that holds a new host out of service until it has configured itself.
CONFIGURE_HOOK = "configure"


def debian_image_id(pinned: str | None) -> str:
    """The pinned image, or the newest official Debian 12 (bookworm) image for amd64."""
    if pinned:
        return pinned
    image = aws.ec2.get_ami(
        owners=[DEBIAN_IMAGE_OWNER],
        most_recent=True,
        filters=[
            {"name": "name", "values": [DEBIAN_IMAGE_NAME]},
            {"name": "architecture", "values": ["x86_64"]},
            {"name": "virtualization-type", "values": ["hvm"]},
        ],
    )
    return image.id


@dataclass
class HostGroupArgs:
    role: HostRole
    settings: HostGroupSettings
    image_id: str
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    # Secrets the hosts read when Ansible renders the app's environment.
    secret_arns: Sequence[pulumi.Input[str]]
    # The repository the hosts pull the app image from.
    repository_arn: pulumi.Input[str]
    tags: Mapping[str, str]
    # Target groups the hosts register with (the web hosts' load balancer).
    target_group_arns: Sequence[pulumi.Input[str]] = field(default_factory=list)
    # The role the hosts' credential endpoint assumes for the shop's containers (AppIdentity).
    app_role_arn: pulumi.Input[str] | None = None
    # The bucket of playbook bundles a new host configures itself from (BundleBucket).
    bundle_bucket: pulumi.Input[str] | None = None
    # Web hosts: the ALB's ``<load balancer>/<target group>`` ARN suffixes, whose requests per host
    # the scaling policy tracks.
    request_count_label: pulumi.Input[str] | None = None


def user_data(role: HostRole, bundle_bucket: str | None) -> str:
    """The first-boot script: the SSM agent, then (with a bundle bucket) the host configures itself."""
    script = BOOTSTRAP.read_text()
    if bundle_bucket:
        script += first_boot_script(role, bundle_bucket)
    return base64.b64encode(script.encode()).decode()


def first_boot_script(role: HostRole, bundle_bucket: str, lifecycle_hook: str = CONFIGURE_HOOK) -> str:
    """The part of user-data that configures the host from the bundle (the lab runs it alone)."""
    settings = {
        "SHOP_BUNDLE_BUCKET": bundle_bucket,
        "SHOP_BUNDLE_KEY": bundle.CURRENT,
        "SHOP_HOST_ROLE": str(role),
        "SHOP_LIFECYCLE_HOOK": lifecycle_hook,
    }
    return FIRST_BOOT_SHELL.format(
        settings="\n".join(f"{key}={value}" for key, value in settings.items()),
        agent=FIRST_BOOT.read_text(),
    )


# Appended to host-bootstrap.sh: write the agent and its settings, run it once. The agent reports
# to the Auto Scaling group whatever happens; if this script dies first, the hook times out and the
# group abandons the host.
FIRST_BOOT_SHELL = """
# Configure this host from the current playbook bundle, then let its Auto Scaling group put it in
# service (or replace it): infra/components/host_first_boot.py.
apt-get install -y -q python3-boto3 python3-venv
install -d -m 0750 /etc/shop
cat > /etc/shop/first-boot.env <<'SETTINGS'
{settings}
SETTINGS
# Debian's images have no /usr/local/libexec.
install -d -m 0755 /usr/local/libexec
cat > /usr/local/libexec/shop-first-boot <<'AGENT'
{agent}AGENT
chmod 0755 /usr/local/libexec/shop-first-boot
set -a
. /etc/shop/first-boot.env
set +a
/usr/local/libexec/shop-first-boot
"""


def _assume_role_policy() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def _host_policy(
    repository_arn: str,
    secret_arns: list[str],
    app_role_arn: str | None = None,
    bundle_bucket: str | None = None,
    group_prefix: str | None = None,
) -> str:
    hand_over = [
        {
            "Sid": "HandTheShopItsRole",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": app_role_arn,
        }
    ]
    configure_itself = [
        {
            "Sid": "FetchThePlaybookBundle",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": f"arn:aws:s3:::{bundle_bucket}/{bundle.PREFIX}*",
        },
        {
            "Sid": "DiscoverScrapeTargets",
            "Effect": "Allow",
            # The Prometheus agent finds its targets by EC2 tags; these take no resource either.
            "Action": ["ec2:DescribeInstances", "ec2:DescribeAvailabilityZones"],
            "Resource": "*",
        },
        {
            "Sid": "FindItsGroup",
            "Effect": "Allow",
            # Takes no resource: AWS only accepts "*".
            "Action": "autoscaling:DescribeAutoScalingInstances",
            "Resource": "*",
        },
        {
            "Sid": "ReportItsLaunch",
            "Effect": "Allow",
            "Action": ["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"],
            "Resource": f"arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/{group_prefix}*",
        },
    ]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "RegistryLogin",
                    "Effect": "Allow",
                    "Action": "ecr:GetAuthorizationToken",
                    # The login call takes no resource; pulls below are limited to one repository.
                    "Resource": "*",
                },
                {
                    "Sid": "PullShopImage",
                    "Effect": "Allow",
                    "Action": [
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                    ],
                    "Resource": repository_arn,
                },
                {
                    "Sid": "ReadShopSecrets",
                    "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                    "Resource": secret_arns,
                },
                *(hand_over if app_role_arn else []),
                *(configure_itself if bundle_bucket else []),
            ],
        }
    )


class HostGroup(pulumi.ComponentResource):
    group_name: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(self, name: str, args: HostGroupArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shopstack:compute:HostGroup", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)

        def tags(resource: str) -> dict[str, str]:
            return resource_tags(args.tags, resource, args.role)

        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=_assume_role_policy(),
            description=f"shopstack {args.role} hosts",
            tags=tags(f"{name}-role"),
            opts=child,
        )
        # Session Manager: shell access and Ansible's connection, with no SSH port open.
        aws.iam.RolePolicyAttachment(
            f"{name}-ssm",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-app",
            role=role.id,
            policy=pulumi.Output.all(
                args.app_role_arn, args.bundle_bucket, args.repository_arn, *args.secret_arns
            ).apply(lambda values: _host_policy(values[2], list(values[3:]), values[0], values[1], f"{name}-")),
            opts=child,
        )
        profile = aws.iam.InstanceProfile(f"{name}-profile", role=role.name, tags=tags(f"{name}-profile"), opts=child)

        template = aws.ec2.LaunchTemplate(
            f"{name}-template",
            image_id=args.image_id,
            instance_type=settings.instance_type,
            iam_instance_profile={"arn": profile.arn},
            vpc_security_group_ids=[args.security_group_id],
            user_data=pulumi.Output.from_input(args.bundle_bucket).apply(lambda bucket: user_data(args.role, bucket)),
            metadata_options={
                # IMDSv2 only: a session token defeats SSRF-style credential theft.
                "http_tokens": "required",
                "http_endpoint": "enabled",
                # One hop keeps containers on a bridge network from the token. The shop's containers
                # share the host's network, so this alone does not: the docker role rejects the
                # app user's connections to the metadata address (instance-metadata-block).
                "http_put_response_hop_limit": 1,
                "instance_metadata_tags": "enabled",
            },
            block_device_mappings=[
                {
                    "device_name": "/dev/xvda",
                    "ebs": {
                        "volume_size": settings.volume_size_gb,
                        "volume_type": "gp3",
                        "encrypted": "true",
                        "delete_on_termination": "true",
                    },
                }
            ],
            monitoring={"enabled": settings.detailed_monitoring},
            update_default_version=True,
            tag_specifications=[
                {"resource_type": "instance", "tags": tags(f"{name}")},
                {"resource_type": "volume", "tags": tags(f"{name}")},
            ],
            tags=tags(f"{name}-template"),
            opts=child,
        )

        group_tags = tags(name)
        group = aws.autoscaling.Group(
            f"{name}-group",
            # A prefix: replacing the group creates the new one before deleting the old.
            name_prefix=f"{name}-",
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            vpc_zone_identifiers=args.subnet_ids,
            min_size=settings.min_size,
            max_size=settings.max_size,
            desired_capacity=settings.desired_capacity,
            target_group_arns=args.target_group_arns,
            # A new host stays Pending:Wait, out of the load balancer, until its first boot reports
            # that it configured itself (or the time runs out and the group replaces it). Initial
            # hooks exist before the group's first host launches.
            initial_lifecycle_hooks=[
                {
                    "name": CONFIGURE_HOOK,
                    "lifecycle_transition": "autoscaling:EC2_INSTANCE_LAUNCHING",
                    "default_result": "ABANDON",
                    "heartbeat_timeout": settings.configure_timeout_seconds,
                }
            ]
            if args.bundle_bucket is not None
            else None,
            # EC2 health, not the load balancer's: a host the deploy holds out of the load balancer
            # must not be replaced for failing its checks meanwhile.
            health_check_type="EC2",
            health_check_grace_period=300,
            enabled_metrics=[
                "GroupDesiredCapacity",
                "GroupInServiceInstances",
                "GroupTotalInstances",
            ],
            tags=[
                {"key": key, "value": value, "propagate_at_launch": True} for key, value in sorted(group_tags.items())
            ],
            # The scaling policies own the desired capacity once the group exists.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["desiredCapacity"]),
        )
        aws.autoscaling.Policy(
            f"{name}-cpu",
            autoscaling_group_name=group.name,
            policy_type="TargetTrackingScaling",
            # A new host counts once it has configured itself and served for this long.
            estimated_instance_warmup=300,
            target_tracking_configuration={
                "predefined_metric_specification": {"predefined_metric_type": "ASGAverageCPUUtilization"},
                "target_value": settings.target_cpu_percent,
            },
            opts=child,
        )
        if args.request_count_label is not None:
            aws.autoscaling.Policy(
                f"{name}-requests",
                autoscaling_group_name=group.name,
                policy_type="TargetTrackingScaling",
                estimated_instance_warmup=300,
                target_tracking_configuration={
                    "predefined_metric_specification": {
                        "predefined_metric_type": "ALBRequestCountPerTarget",
                        "resource_label": args.request_count_label,
                    },
                    "target_value": settings.target_requests_per_host,
                },
                opts=child,
            )
        self.group_name = group.name
        self.role_name = role.name
        self.register_outputs({"group_name": self.group_name, "role_name": self.role_name})
