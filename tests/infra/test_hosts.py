import json

import pulumi
import pytest

from infra.components.hosts import DEBIAN_IMAGE_NAME, DEBIAN_IMAGE_OWNER, HostGroup, HostGroupArgs, debian_image_id
from infra.config import HostGroupSettings
from infra.tags import ROLE, STACK, HostRole
from tests.infra.support import SUBNETS, TAGS, build, settings

TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
GROUP = "aws:autoscaling/group:Group"
REPOSITORY = "arn:aws:ecr:us-east-1:123456789012:repository/shop-test/app"
SECRETS = ["arn:aws:secretsmanager:us-east-1:123456789012:secret:shopstack/shop-test/app-AbCdEf"]
APP_ROLE = "arn:aws:iam::123456789012:role/shop-test-app-role"
BUNDLES = "shop-test-bundles-bucket"
REQUESTS = "app/shop-test-lb/0123/targetgroup/shop-test-web/4567"
POLICY = "aws:autoscaling/policy:Policy"


def host_group(role=HostRole.WEB, **changes):
    group_settings = settings("prod", "web", HostGroupSettings, **changes)
    return build(
        lambda: HostGroup(
            f"shop-test-{role}",
            HostGroupArgs(
                role=role,
                settings=group_settings,
                image_id="ami-0test",
                subnet_ids=SUBNETS,
                security_group_id="sg-web",
                secret_arns=SECRETS,
                repository_arn=REPOSITORY,
                target_group_arns=["arn:aws:elasticloadbalancing:tg/web"] if role is HostRole.WEB else [],
                app_role_arn=APP_ROLE,
                bundle_bucket=BUNDLES,
                request_count_label=REQUESTS if role is HostRole.WEB else None,
                tags=TAGS,
            ),
        )
    )


@pytest.fixture(scope="module")
def web():
    return host_group()


def test_hosts_accept_only_imdsv2_and_keep_credentials_from_containers(web):
    template = web.one(TEMPLATE)
    options = template.inputs["metadataOptions"]
    assert options["httpTokens"] == "required", template.urn
    assert options["httpPutResponseHopLimit"] == 1, template.urn


def test_host_volumes_are_encrypted_gp3(web):
    template = web.one(TEMPLATE)
    for mapping in template.inputs["blockDeviceMappings"]:
        assert mapping["ebs"]["encrypted"] == "true", template.urn
        assert mapping["ebs"]["volumeType"] == "gp3", template.urn


def test_hosts_have_no_ssh_key_and_live_in_private_subnets(web):
    template, group = web.one(TEMPLATE), web.one(GROUP)
    assert "keyName" not in template.inputs, template.urn
    assert "networkInterfaces" not in template.inputs, f"{template.urn} may attach public addresses"
    assert group.inputs["vpcZoneIdentifiers"] == SUBNETS, group.urn


def test_hosts_install_the_ssm_agent_on_first_boot(web):
    import base64

    script = base64.b64decode(web.one(TEMPLATE).inputs["userData"]).decode()
    assert "amazon-ssm-agent" in script and "systemctl enable --now amazon-ssm-agent" in script


def test_instance_profile_grants_session_manager_and_nothing_broad(web):
    attachment = web.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["policyArn"].endswith("/AmazonSSMManagedInstanceCore"), attachment.urn
    policy = web.one("aws:iam/rolePolicy:RolePolicy")
    statements = json.loads(policy.inputs["policy"])["Statement"]
    wildcard = [s for s in statements if s["Resource"] == "*"]
    # Calls that take no resource (AWS accepts only "*"), both read-only or a login.
    wildcard_actions = [s["Action"] for s in wildcard]
    assert wildcard_actions == ["ecr:GetAuthorizationToken", ["ec2:DescribeInstances", "ec2:DescribeAvailabilityZones"],
                                "autoscaling:DescribeAutoScalingInstances"], policy.urn
    resources = {s["Sid"]: s["Resource"] for s in statements}
    assert resources["PullShopImage"] == REPOSITORY, policy.urn
    assert resources["ReadShopSecrets"] == SECRETS, policy.urn


def test_hosts_may_assume_the_shops_role_and_no_other(web):
    policy = web.one("aws:iam/rolePolicy:RolePolicy")
    assumed = [s for s in json.loads(policy.inputs["policy"])["Statement"] if "sts:AssumeRole" in s["Action"]]
    assert [s["Resource"] for s in assumed] == [APP_ROLE], policy.urn


def test_every_host_is_tagged_for_the_ansible_inventory(web):
    group = web.one(GROUP)
    propagated = {t["key"]: t["value"] for t in group.inputs["tags"] if t["propagateAtLaunch"]}
    assert propagated[STACK] == "test", group.urn
    assert propagated[ROLE] == "web", group.urn


def test_unconfigured_hosts_are_not_replaced_for_failing_the_load_balancer_check(web):
    group = web.one(GROUP)
    assert group.inputs["healthCheckType"] == "EC2", group.urn
    assert group.inputs["targetGroupArns"] == ["arn:aws:elasticloadbalancing:tg/web"], group.urn


def test_capacity_follows_the_stack_settings():
    run = host_group(min_size=2, desired_capacity=4, max_size=8, instance_type="t3.large")
    group, template = run.one(GROUP), run.one(TEMPLATE)
    assert (group.inputs["minSize"], group.inputs["desiredCapacity"], group.inputs["maxSize"]) == (2, 4, 8)
    assert template.inputs["instanceType"] == "t3.large", template.urn


def test_workers_register_with_no_load_balancer():
    group = host_group(HostRole.WORKER).one(GROUP)
    assert not group.inputs.get("targetGroupArns"), group.urn


def test_group_name_is_a_prefix_so_a_replacement_group_can_exist_beside_the_old(web):
    group = web.one(GROUP)
    assert "name" not in group.inputs, group.urn
    assert group.inputs["namePrefix"] == "shop-test-web-", group.urn


def test_group_name_is_exposed_for_the_inventory():
    def program():
        hosts = HostGroup(
            "shop-test-web",
            HostGroupArgs(
                HostRole.WEB,
                settings("dev", "web", HostGroupSettings),
                "ami-0test",
                SUBNETS,
                "sg",
                SECRETS,
                REPOSITORY,
                TAGS,
            ),
        )
        return hosts.group_name

    run = build(program)
    assert run.outputs["checks"] == run.one(GROUP).state["name"]
    assert run.outputs["checks"].startswith("shop-test-web-")


def test_the_image_is_the_newest_official_debian_12():
    run = build(lambda: pulumi.export("image", debian_image_id(None)))
    (call,) = [c for c in run.calls if c.token == "aws:ec2/getAmi:getAmi"]
    assert call.args["owners"] == [DEBIAN_IMAGE_OWNER] and call.args["mostRecent"] is True
    filters = {f["name"]: f["values"] for f in call.args["filters"]}
    assert filters["name"] == [DEBIAN_IMAGE_NAME] == ["debian-12-amd64-*"]
    assert run.outputs["image"].startswith("ami-")


def test_a_pinned_image_skips_the_lookup():
    run = build(lambda: pulumi.export("image", debian_image_id("ami-0pinned")))
    assert run.outputs["image"] == "ami-0pinned" and not run.calls


def _statements(run) -> dict:
    policy = run.one("aws:iam/rolePolicy:RolePolicy")
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


def test_a_new_host_waits_out_of_service_until_it_has_configured_itself(web):
    group = web.one(GROUP)
    (hook,) = group.inputs["initialLifecycleHooks"]
    assert hook["lifecycleTransition"] == "autoscaling:EC2_INSTANCE_LAUNCHING", group.urn
    assert (hook["name"], hook["defaultResult"], hook["heartbeatTimeout"]) == ("configure", "ABANDON", 1800), group.urn


def test_the_scaling_policies_own_the_desired_capacity(web):
    group = web.one(GROUP)
    assert group.ignore_changes == ("desiredCapacity",), group.urn


def test_web_hosts_scale_on_cpu_and_on_requests_per_host(web):
    targets = {p.name: p.inputs["targetTrackingConfiguration"] for p in web.of_type(POLICY)}
    cpu, requests = targets["shop-test-web-cpu"], targets["shop-test-web-requests"]
    assert cpu["predefinedMetricSpecification"]["predefinedMetricType"] == "ASGAverageCPUUtilization"
    assert requests["predefinedMetricSpecification"] == {"predefinedMetricType": "ALBRequestCountPerTarget",
                                                         "resourceLabel": REQUESTS}
    assert (cpu["targetValue"], requests["targetValue"]) == (60, 1000)


def test_workers_scale_on_cpu_only():
    run = host_group(HostRole.WORKER)
    assert [p.name for p in run.of_type(POLICY)] == ["shop-test-worker-cpu"]


def test_hosts_fetch_bundles_and_report_their_launch_only(web):
    statements = _statements(web)
    assert statements["FetchThePlaybookBundle"]["Resource"] == f"arn:aws:s3:::{BUNDLES}/playbooks/*"
    assert statements["ReportItsLaunch"]["Resource"].endswith(":autoScalingGroupName/shop-test-web-*")
    assert statements["ReportItsLaunch"]["Action"] == [
        "autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"]


def test_the_first_boot_runs_the_agent_with_the_hosts_settings(web):
    import base64

    script = base64.b64decode(web.one(TEMPLATE).inputs["userData"]).decode()
    for setting in (f"SHOP_BUNDLE_BUCKET={BUNDLES}", "SHOP_BUNDLE_KEY=playbooks/current.tar.gz",
                    "SHOP_HOST_ROLE=web", "SHOP_LIFECYCLE_HOOK=configure"):
        assert setting in script, setting
    assert "def complete" not in script and "complete_lifecycle_action(" in script


def test_the_first_boot_fits_in_ec2_user_data(web):
    import base64

    assert len(base64.b64decode(web.one(TEMPLATE).inputs["userData"])) < 16 * 1024
