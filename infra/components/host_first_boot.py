#!/usr/bin/python3
"""First boot of a host its Auto Scaling group launched: configure it, then tell the group.

The group holds the host in Pending:Wait (the launch lifecycle hook) and out of the load balancer.
With the instance role, this fetches the current playbook bundle from S3, runs the bundle's
``converge`` (Ansible, locally, for the host's role, the bundle's release and its instance id), and completes the
lifecycle action: CONTINUE when the converge passed, so the group puts the host in service and
registers it with its target groups; ABANDON otherwise (or on any error), so the group replaces it.

Settings, from the environment (user-data writes them): SHOP_BUNDLE_BUCKET, SHOP_BUNDLE_KEY,
SHOP_HOST_ROLE, SHOP_LIFECYCLE_HOOK; SHOP_CONVERGE_DIRECTORY (default /opt/shop/converge). The
instance id and region come from the instance metadata service unless SHOP_INSTANCE_ID and
AWS_DEFAULT_REGION are set; AWS_ENDPOINT_URL names an emulator (tests, the lab). Shipped in
user-data by infra/components/hosts.py.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path, PurePosixPath
from typing import Any

import boto3

METADATA = "http://169.254.169.254/latest"


def _metadata(path: str) -> str:
    token_request = urllib.request.Request(
        f"{METADATA}/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}
    )
    with urllib.request.urlopen(token_request, timeout=5) as answer:  # noqa: S310  # nosec B310 - link-local
        token = answer.read().decode()
    request = urllib.request.Request(f"{METADATA}/meta-data/{path}", headers={"X-aws-ec2-metadata-token": token})
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310  # nosec B310 - link-local
        return str(answer.read().decode())


def identity() -> tuple[str, str]:
    """This instance's id and region."""
    instance_id = os.environ.get("SHOP_INSTANCE_ID") or _metadata("instance-id")
    region = os.environ.get("AWS_DEFAULT_REGION") or _metadata("placement/region")
    return instance_id, region


def fetch_bundle(s3: Any, bucket: str, key: str, directory: Path) -> str:
    """Unpack the bundle into ``directory``; return the release it names (its ``release`` metadata)."""
    answer = s3.get_object(Bucket=bucket, Key=key)
    with tarfile.open(fileobj=io.BytesIO(answer["Body"].read()), mode="r:gz") as archive:
        for member in archive.getmembers():
            path = PurePosixPath(member.name)
            if path.is_absolute() or ".." in path.parts or not (member.isfile() or member.isdir()):
                raise ValueError(f"refusing bundle member {member.name!r}")
        archive.extractall(directory)  # noqa: S202  # nosec B202 - every member checked above
    return str(answer.get("Metadata", {}).get("release", ""))


def converge(directory: Path, role: str, release: str, instance_id: str) -> bool:
    completed = subprocess.run([str(directory / "converge"), role, release, instance_id], cwd=directory, check=False)
    return completed.returncode == 0


def main() -> int:
    env = os.environ
    instance_id, region = identity()
    session = boto3.session.Session(region_name=region)
    # Debian 12's boto3 predates AWS_ENDPOINT_URL; an emulator (tests, the lab) is named there.
    endpoint = env.get("AWS_ENDPOINT_URL") or None
    autoscaling = session.client("autoscaling", endpoint_url=endpoint)
    s3 = session.client("s3", endpoint_url=endpoint)
    group = autoscaling.describe_auto_scaling_instances(InstanceIds=[instance_id])["AutoScalingInstances"][0][
        "AutoScalingGroupName"
    ]
    result = "ABANDON"
    try:
        directory = Path(env.get("SHOP_CONVERGE_DIRECTORY", "/opt/shop/converge"))
        directory.mkdir(parents=True, exist_ok=True)
        release = fetch_bundle(s3, env["SHOP_BUNDLE_BUCKET"], env["SHOP_BUNDLE_KEY"], directory)
        if converge(directory, env["SHOP_HOST_ROLE"], release, instance_id):
            result = "CONTINUE"
    except Exception as error:  # noqa: BLE001 - whatever failed, the group must hear of it
        print(f"first boot failed: {error!r}", file=sys.stderr)
    finally:
        autoscaling.complete_lifecycle_action(
            LifecycleHookName=env["SHOP_LIFECYCLE_HOOK"],
            AutoScalingGroupName=group,
            InstanceId=instance_id,
            LifecycleActionResult=result,
        )
    print(f"first boot of {instance_id} in {group}: {result}")
    return 0 if result == "CONTINUE" else 1


if __name__ == "__main__":
    sys.exit(main())
