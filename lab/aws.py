"""The lab's AWS: moto in server mode on the lab network's gateway, standing in for Secrets Manager,
S3 and Auto Scaling where the lab's hosts and the proof call them with the same boto3 code as on AWS.

What it holds, made by ``python -m lab up`` (``seed``): the shop's database login secret (the app
reads it when it opens a connection, so the password can rotate), the playbook bundle bucket, and
the web hosts' Auto Scaling group with its ``configure`` launch lifecycle hook. moto has no
CompleteLifecycleAction; the lab's server adds it, appending each call to ``LIFECYCLE_LOG`` (what
the Auto Scaling group would act on: the lab's proof puts a host in service when it reads CONTINUE).

    python -m lab.aws serve    # run by `lab up` in the background; `lab down` stops it
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

from lab import topology as topo

REGION = "eu-west-1"
# moto takes any key; these name the lab so a leaked one is recognisably not AWS's.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "shopstack-lab", "AWS_SECRET_ACCESS_KEY": "shopstack-lab"}
PID_FILE = topo.STATE / "aws.pid"
LOG_FILE = topo.ROOT / "lab" / ".logs" / "aws.log"
LIFECYCLE_LOG = topo.STATE / "lifecycle-actions.jsonl"
DATABASE_LOGIN_SECRET = "shopstack-lab/database-login"
BUNDLE_BUCKET = "shopstack-lab-bundles"
WEB_GROUP = "shopstack-lab-web"
CONFIGURE_HOOK = "configure"


def endpoint_url() -> str:
    return f"http://{topo.AWS_ADDRESS}:{topo.AWS_PORT}"


def client(service: str) -> Any:
    import boto3

    session = boto3.session.Session(
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    return session.client(service, endpoint_url=endpoint_url())


def _answers() -> bool:
    import requests

    try:
        return requests.get(f"{endpoint_url()}/moto-api/", timeout=2).ok
    except requests.RequestException:
        return False


def start() -> bool:
    """Start the server unless it answers; return whether it was started (and so holds nothing yet)."""
    if _answers():
        return False
    LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
    topo.STATE.mkdir(parents=True, exist_ok=True)
    with LOG_FILE.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - outlives this command on purpose, like the hosts
            [sys.executable, "-m", "lab.aws", "serve"],
            cwd=topo.ROOT,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    PID_FILE.write_text(f"{process.pid}\n")
    deadline = time.monotonic() + 30
    while not _answers():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the lab's AWS endpoint did not start; see {LOG_FILE}")
        time.sleep(0.2)
    return True


def stop() -> None:
    if not PID_FILE.exists():
        return
    pid = int(PID_FILE.read_text())
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    PID_FILE.unlink()


def seed(database_user: str, database_password: str) -> dict[str, str]:
    """Create what the stack would (each only once); return the names the inventory needs."""
    secrets = client("secretsmanager")
    try:
        arn = secrets.describe_secret(SecretId=DATABASE_LOGIN_SECRET)["ARN"]
    except secrets.exceptions.ResourceNotFoundException:
        arn = secrets.create_secret(
            Name=DATABASE_LOGIN_SECRET,
            SecretString=json.dumps({"username": database_user, "password": database_password}),
        )["ARN"]
    s3 = client("s3")
    if BUNDLE_BUCKET not in {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUNDLE_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    autoscaling = client("autoscaling")
    if not autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[WEB_GROUP])["AutoScalingGroups"]:
        ec2 = client("ec2")
        image = ec2.describe_images()["Images"][0]["ImageId"]
        ec2.create_launch_template(
            LaunchTemplateName=WEB_GROUP, LaunchTemplateData={"ImageId": image, "InstanceType": "t3.small"}
        )
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=WEB_GROUP,
            MinSize=0,
            MaxSize=4,
            DesiredCapacity=0,
            LaunchTemplate={"LaunchTemplateName": WEB_GROUP},
            AvailabilityZones=[f"{REGION}a"],
        )
        autoscaling.put_lifecycle_hook(
            LifecycleHookName=CONFIGURE_HOOK,
            AutoScalingGroupName=WEB_GROUP,
            LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING",
            HeartbeatTimeout=1800,
            DefaultResult="ABANDON",
        )
    return {"database_login_secret_arn": arn, "bundle_bucket": BUNDLE_BUCKET, "web_group": WEB_GROUP}


def lifecycle_actions() -> list[dict[str, Any]]:
    """Every CompleteLifecycleAction the lab's Auto Scaling was sent, oldest first."""
    if not LIFECYCLE_LOG.exists():
        return []
    return [json.loads(line) for line in LIFECYCLE_LOG.read_text().splitlines() if line]


def _record_lifecycle_actions() -> None:
    from moto.autoscaling.responses import AutoScalingResponse
    from moto.core.responses import EmptyResult

    def complete_lifecycle_action(self: AutoScalingResponse) -> EmptyResult:
        names = ("AutoScalingGroupName", "LifecycleHookName", "InstanceId", "LifecycleActionResult")
        action = {name: self._get_param(name) for name in names} | {"at": time.time()}
        with LIFECYCLE_LOG.open("a") as log:
            log.write(json.dumps(action) + "\n")
        return EmptyResult()

    AutoScalingResponse.complete_lifecycle_action = complete_lifecycle_action


def serve() -> None:
    from moto.server import main

    _record_lifecycle_actions()
    main(["--host", str(topo.AWS_ADDRESS), "--port", str(topo.AWS_PORT)])


if __name__ == "__main__" and sys.argv[1:] == ["serve"]:
    serve()
