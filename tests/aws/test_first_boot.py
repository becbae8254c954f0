"""The first-boot agent (infra/components/host_first_boot.py) of a host the web group launched, against
the emulator: it finds its group, fetches the current bundle from S3, runs the bundle's converge with
its role and the bundle's release, and completes the launch lifecycle action with CONTINUE when the
converge passed and ABANDON when it failed or the bundle was unsafe.

moto has no CompleteLifecycleAction (it answers 500), so the tests read the call from moto's
request recorder: what the agent asked of Auto Scaling, not what Auto Scaling did with it.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests
from moto.moto_api import recorder

from .conftest import CREDENTIALS, REGION, create_web_group

AGENT = Path(__file__).resolve().parents[2] / "infra" / "components" / "host_first_boot.py"
BUCKET = "shop-test-bundles"
KEY = "playbooks/current.tar.gz"


def _bundle(converge: str, extra: dict[str, bytes] | None = None) -> bytes:
    """A bundle whose converge script is ``converge`` (run with the role and the release)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content, mode in [("converge", converge.encode(), 0o755),
                                    *((name, data, 0o644) for name, data in (extra or {}).items())]:
            member = tarfile.TarInfo(name)
            member.size, member.mode = len(content), mode
            archive.addfile(member, io.BytesIO(content))
    return buffer.getvalue()


@pytest.fixture
def recording(endpoint_url, tmp_path):
    # The recorder writes where it was told when moto was imported; this run's file is the test's.
    recorder._location = str(tmp_path / "moto-recording")
    requests.post(f"{endpoint_url}/moto-api/recorder/start-recording", timeout=10).raise_for_status()
    yield
    requests.post(f"{endpoint_url}/moto-api/recorder/stop-recording", timeout=10).raise_for_status()


def _lifecycle_actions(endpoint_url: str) -> list[dict[str, str]]:
    lines = requests.get(f"{endpoint_url}/moto-api/recorder/download-recording", timeout=10).text.splitlines()
    entries = [json.loads(line) for line in lines if line.strip()]
    bodies = [base64.b64decode(e["body"]).decode(errors="replace") if e.get("body_encoded") else e.get("body") or ""
              for e in entries]
    calls = [parse_qs(body) for body in bodies]
    return [{key: values[0] for key, values in call.items()} for call in calls
            if call.get("Action") == ["CompleteLifecycleAction"]]


@pytest.fixture
def launched(aws, endpoint_url):
    group = create_web_group(aws)
    session_s3 = __import__("boto3").session.Session(region_name=REGION, aws_access_key_id="testing",
                                                      aws_secret_access_key="testing")
    s3 = session_s3.client("s3", endpoint_url=endpoint_url)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return group, s3


def _first_boot(endpoint_url: str, instance_id: str, directory: Path) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environment.update(CREDENTIALS, AWS_DEFAULT_REGION=REGION, AWS_ENDPOINT_URL=endpoint_url,
                       AWS_EC2_METADATA_DISABLED="true", SHOP_INSTANCE_ID=instance_id, SHOP_BUNDLE_BUCKET=BUCKET,
                       SHOP_BUNDLE_KEY=KEY, SHOP_HOST_ROLE="web", SHOP_LIFECYCLE_HOOK="configure",
                       SHOP_CONVERGE_DIRECTORY=str(directory))
    return subprocess.run([sys.executable, str(AGENT)], env=environment, capture_output=True, text=True,
                          timeout=120, check=False)


def test_a_host_that_converged_lets_its_group_put_it_in_service(launched, recording, endpoint_url, tmp_path):
    group, s3 = launched
    instance = group.instance_ids[0]
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=_bundle('#!/bin/sh\necho "$1 $2 $3" > converged\n'),
                  Metadata={"release": "0123abcd"})

    _first_boot(endpoint_url, instance, tmp_path / "converge")

    assert (tmp_path / "converge" / "converged").read_text() == f"web 0123abcd {instance}\n"
    assert _lifecycle_actions(endpoint_url) == [{
        "Action": "CompleteLifecycleAction", "Version": "2011-01-01", "LifecycleHookName": "configure",
        "AutoScalingGroupName": group.name, "InstanceId": instance, "LifecycleActionResult": "CONTINUE"}]


def test_a_host_whose_converge_failed_is_abandoned(launched, recording, endpoint_url, tmp_path):
    group, s3 = launched
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=_bundle("#!/bin/sh\nexit 2\n"), Metadata={"release": "0123abcd"})

    _first_boot(endpoint_url, group.instance_ids[0], tmp_path / "converge")

    assert [call["LifecycleActionResult"] for call in _lifecycle_actions(endpoint_url)] == ["ABANDON"]


def test_a_bundle_reaching_outside_its_directory_is_refused_and_the_host_abandoned(launched, recording, endpoint_url,
                                                                                    tmp_path):
    group, s3 = launched
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=_bundle("#!/bin/sh\n", {"../escaped": b"x"}))

    _first_boot(endpoint_url, group.instance_ids[0], tmp_path / "converge")

    assert not (tmp_path / "escaped").exists()
    assert [call["LifecycleActionResult"] for call in _lifecycle_actions(endpoint_url)] == ["ABANDON"]


def test_a_host_with_no_bundle_to_fetch_is_abandoned(launched, recording, endpoint_url, tmp_path):
    group, _ = launched

    _first_boot(endpoint_url, group.instance_ids[0], tmp_path / "converge")

    assert [call["LifecycleActionResult"] for call in _lifecycle_actions(endpoint_url)] == ["ABANDON"]


def test_the_agent_unpacks_the_bundle_the_deploy_published(launched, tmp_path):
    from infra.components.host_first_boot import fetch_bundle
    from pipelines.bundle import build_bundle, publish

    _, s3 = launched
    stack_vars = tmp_path / "stack.yml"
    stack_vars.write_text(f"shop_bundle_bucket: {BUCKET}\n")
    publish(s3, BUCKET, "0123abcd", build_bundle(stack_vars))

    release = fetch_bundle(s3, BUCKET, KEY, tmp_path / "converge")

    assert release == "0123abcd"
    assert (tmp_path / "converge" / "playbooks" / "self-converge.yml").is_file()
    assert s3.head_object(Bucket=BUCKET, Key="playbooks/0123abcd.tar.gz")["Metadata"] == {"release": "0123abcd"}
