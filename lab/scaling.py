"""A scale-out of the lab's web Auto Scaling group: a brand-new host that configures itself.

``launch`` does what AWS does when the group launches an instance, and nothing more: the group (in
the lab's AWS, lab/aws.py) gets one more instance, held by the ``configure`` lifecycle hook; the
current playbook bundle is in the lab's S3 (``python -m pipelines bundle --stack lab``); a new host
container starts and runs its first-boot script, the same one infra/ puts in user-data
(infra.components.hosts.first_boot_script, with the agent host_first_boot.py). The agent reports to
the lab's Auto Scaling, which records the lifecycle action; ``put_in_service`` then does what the
group does on CONTINUE (register the host with the load balancer), and ``retire`` scales back in.
"""

from __future__ import annotations

import io
import json
import shlex
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from infra.components.hosts import first_boot_script
from infra.tags import HostRole
from lab import aws, engine, images, resources
from lab import topology as topo
from lab.secrets import VAULT_PASSWORD, fingerprint

HOST = topo.NEW_WEB_HOST
# Where the proof's launch is written, for the test that checks the host (tests/hosts/scaling).
LAUNCH_RECORD = topo.STATE / "scale-out.json"
# What EC2 gives a host and the lab cannot: its identity (the instance metadata service), and, in
# place of its instance role's reach to Secrets Manager, the password of the lab's vault. The
# machine's CA bundle goes along for pip (a proxy may sign the machine's TLS, as for the image).
PREAMBLE = """#!/bin/sh
# The lab's stand-in for cloud-init: the host's identity and AWS's endpoint, then user-data.
set -eu
export DEBIAN_FRONTEND=noninteractive
{exports}
apt-get update -q
"""
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def _files(files: dict[str, tuple[bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        directory = tarfile.TarInfo("etc/lab")
        directory.type, directory.mode = tarfile.DIRTYPE, 0o700
        tar.addfile(directory)
        for name, (data, mode) in files.items():
            info = tarfile.TarInfo(f"etc/lab/{name}")
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def launch(release: str) -> dict[str, object]:
    """Scale the web group out by one and boot the new host with its first-boot script alone."""
    autoscaling = aws.client("autoscaling")
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[aws.WEB_GROUP])["AutoScalingGroups"][0]
    before = {instance["InstanceId"] for instance in group["Instances"]}
    autoscaling.set_desired_capacity(AutoScalingGroupName=aws.WEB_GROUP, DesiredCapacity=group["DesiredCapacity"] + 1)
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[aws.WEB_GROUP])["AutoScalingGroups"][0]
    instance_id = next(i["InstanceId"] for i in group["Instances"] if i["InstanceId"] not in before)

    subprocess.run(
        [sys.executable, "-m", "pipelines", "bundle", "--stack", "lab", "--release", release],
        cwd=topo.ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )

    exports = {
        "SHOP_INSTANCE_ID": instance_id,
        "AWS_DEFAULT_REGION": aws.REGION,
        "AWS_ENDPOINT_URL": aws.endpoint_url(),
        **aws.CREDENTIALS,
        "ANSIBLE_VAULT_PASSWORD_FILE": "/etc/lab/vault-password",
        "PIP_CERT": "/etc/lab/ca-certificates.crt",
    }
    preamble = PREAMBLE.format(exports="\n".join(f"export {k}={shlex.quote(v)}" for k, v in exports.items()))
    user_data = preamble + first_boot_script(HostRole.WEB, aws.BUNDLE_BUCKET, aws.CONFIGURE_HOOK)

    docker = engine.client()
    host_image = images.built_image(docker, "host", images.base_image(docker))
    resources.host(docker, host_image, HOST, fingerprint())
    container = docker.containers.get(HOST.container)
    container.put_archive(
        "/",
        _files(
            {
                "user-data": (user_data.encode(), 0o700),
                "vault-password": (VAULT_PASSWORD.read_bytes(), 0o600),
                "ca-certificates.crt": (CA_BUNDLE.read_bytes(), 0o644),
            }
        ),
    )
    _wait_for_systemd(container)
    launched_at = time.time()
    started = container.exec_run(["systemd-run", "--unit", "lab-user-data", "--no-block", "/etc/lab/user-data"])
    if started.exit_code != 0:
        raise RuntimeError(f"user-data did not start on {HOST.name}: {started.output.decode()}")
    record = {
        "instance_id": instance_id,
        "host": HOST.name,
        "address": HOST.ip,
        "release": release,
        "launched_at": launched_at,
    }
    LAUNCH_RECORD.write_text(json.dumps(record) + "\n")
    return record


def _wait_for_systemd(container, timeout: float = 180) -> None:
    """Wait until the host's systemd has booted (its bus answers), as cloud-init's last stage does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = container.exec_run(["systemctl", "is-system-running"]).output.decode().strip()
        if state in ("running", "degraded"):
            return
        time.sleep(0.5)
    raise RuntimeError(f"{HOST.name} did not boot within {timeout:.0f} s")


def launched() -> dict[str, object] | None:
    return json.loads(LAUNCH_RECORD.read_text()) if LAUNCH_RECORD.exists() else None


def retire(instance_id: str) -> None:
    """Scale back in: the instance leaves the group and its host is removed."""
    aws.client("autoscaling").terminate_instance_in_auto_scaling_group(
        InstanceId=instance_id, ShouldDecrementDesiredCapacity=True
    )
    docker = engine.client()
    container = docker.containers.list(all=True, filters={"name": HOST.container})
    for found in container:
        found.remove(force=True, v=True)
    LAUNCH_RECORD.unlink(missing_ok=True)
