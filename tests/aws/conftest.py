"""An AWS API emulator (moto in server mode) on a free local port, a web Auto Scaling group behind
an ALB target group in it, and a way to run the lb_membership role's task files against it.

Nothing here reaches AWS: the credentials are dummies, and the role is pointed at the emulator
through its lb_membership_endpoint_url variable only, so a call that ignored it would fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import psycopg
import pytest
import requests
from moto.server import ThreadedMotoServer

from tests.app.own_services import PostgresCluster

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "playbooks" / "roles"
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
REGION = "eu-west-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
GROUP = "shop-test-web"
CAPACITY = 2


@pytest.fixture(scope="session")
def endpoint_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def aws_clients(endpoint_url) -> dict:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    return {name: session.client(name, endpoint_url=endpoint_url) for name in ("ec2", "elbv2", "autoscaling")}


def reset(endpoint_url: str) -> None:
    """Forget every resource the emulator holds."""
    requests.post(f"{endpoint_url}/moto-api/reset", timeout=10).raise_for_status()


def emulated_secrets_manager(monkeypatch, endpoint_url: str):
    """Point boto3's own settings, nothing of the shop's, at the emulator's Secrets Manager, emptied;
    returns a client of it."""
    reset(endpoint_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    return boto3.session.Session().client("secretsmanager")


@pytest.fixture
def aws(endpoint_url, aws_clients) -> dict:
    """boto3 clients of an emptied emulator."""
    reset(endpoint_url)
    return aws_clients


@dataclass(frozen=True)
class WebGroup:
    name: str
    target_group_arn: str
    instance_ids: tuple[str, ...]


def create_web_group(aws: dict, health_check_type: str = "EC2") -> WebGroup:
    """What infra/ creates for the web hosts: min = desired = max, the group attached to the ALB's
    target group (which registers its instances)."""
    ec2, elbv2, autoscaling = aws["ec2"], aws["elbv2"], aws["autoscaling"]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone=f"{REGION}a")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.create_launch_template(LaunchTemplateName="shop-test-web",
                               LaunchTemplateData={"ImageId": image, "InstanceType": "t3.small"})
    target_group = elbv2.create_target_group(
        Name="shop-test-web", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="instance",
        HealthCheckPath="/readyz")["TargetGroups"][0]["TargetGroupArn"]
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=GROUP, LaunchTemplate={"LaunchTemplateName": "shop-test-web"},
        MinSize=CAPACITY, MaxSize=CAPACITY, DesiredCapacity=CAPACITY,
        VPCZoneIdentifier=subnet["Subnet"]["SubnetId"], TargetGroupARNs=[target_group],
        HealthCheckType=health_check_type, HealthCheckGracePeriod=300)
    described = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])["AutoScalingGroups"][0]
    group = WebGroup(GROUP, target_group, tuple(sorted(i["InstanceId"] for i in described["Instances"])))
    assert len(group.instance_ids) == CAPACITY
    assert {t["Target"]["Id"]: t["TargetHealth"]["State"] for t in target_health(aws, group)} == dict.fromkeys(
        group.instance_ids, "healthy")
    return group


@pytest.fixture
def web_group(aws) -> WebGroup:
    return create_web_group(aws)


def target_health(aws: dict, group: WebGroup, instance_id: str | None = None) -> list[dict]:
    targets = {"Targets": [{"Id": instance_id}]} if instance_id else {}
    return aws["elbv2"].describe_target_health(TargetGroupArn=group.target_group_arn, **targets)[
        "TargetHealthDescriptions"]


def describe_group(aws: dict, group: WebGroup) -> dict:
    return aws["autoscaling"].describe_auto_scaling_groups(AutoScalingGroupNames=[group.name])["AutoScalingGroups"][0]


def run_tasks(endpoint_url: str, tasks: list[dict], **variables) -> subprocess.CompletedProcess:
    """Run tasks on localhost (connection local) with the role on the roles path, the way
    deploy.yml delegates lb_membership's AWS calls to the controller."""
    extra = {"lb_membership_provider": "alb", "lb_membership_autoscaling_group": GROUP,
             "lb_membership_region": REGION, "lb_membership_endpoint_url": endpoint_url,
             "lb_membership_wait_retries": 10, "lb_membership_wait_delay": 1, **variables}
    return run_play("Run lb_membership against the emulator", tasks, extra)


def run_play(name: str, tasks: list[dict], extra: dict) -> subprocess.CompletedProcess:
    """Run ``tasks`` on localhost (connection local, this interpreter) with the production roles on
    the roles path and no AWS settings but the dummy credentials."""
    play = [{"name": name, "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}]
    extra = {"ansible_python_interpreter": sys.executable, **extra}
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "ANSIBLE_"))}
    environment.update(CREDENTIALS, ANSIBLE_ROLES_PATH=str(ROLES), ANSIBLE_NOCOLOR="1",
                       ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
                       AWS_EC2_METADATA_DISABLED="true")
    with tempfile.TemporaryDirectory() as directory:
        playbook = Path(directory, "playbook.yml")
        playbook.write_text(json.dumps(play))
        return subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", "localhost,", str(playbook), "-e", json.dumps(extra)],
                              capture_output=True, text=True, env=environment, timeout=180, check=False)


def role_tasks(tasks_from: str, role: str = "lb_membership") -> list[dict]:
    return [{"name": f"Run {role}'s {tasks_from}",
             "ansible.builtin.include_role": {"name": role, "tasks_from": tasks_from}}]


def run_role(endpoint_url: str, tasks_from: str, member: str, **variables) -> subprocess.CompletedProcess:
    return run_tasks(endpoint_url, role_tasks(tasks_from), lb_membership_member=member, **variables)


def output(result: subprocess.CompletedProcess) -> str:
    """The end of a run's output, for an assertion's message."""
    return result.stdout[-4000:] + result.stderr[-2000:]


# A cluster of the tests' own: local administration through the socket as the superuser, and every
# TCP login must give its password (the shared cluster on 5432 trusts every local login, so a wrong
# password would pass there).
PG_HBA = """\
local all postgres trust
host all all 127.0.0.1/32 scram-sha-256
"""


@pytest.fixture(scope="session")
def cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    (cluster.data / "pg_hba.conf").write_text(PG_HBA)
    cluster.start()
    yield cluster
    cluster.remove()


def admin(cluster: PostgresCluster, dbname: str = "postgres") -> psycopg.Connection:
    """The cluster's superuser, through its socket."""
    return psycopg.connect(host=str(cluster.directory), port=cluster.port, user="postgres", dbname=dbname,
                           autocommit=True)
