"""The pipeline's deploy step in the lab: a release that is healthy but cannot sell is caught by the
purchase journey and rolled back automatically, under load, with no request lost.

Runs before test_rolling_deploy.py and leaves every host on the release it found.
"""

from __future__ import annotations

import time
from pathlib import Path

import docker
import pytest

from pipelines import deploy, releases
from pipelines.runner import StepFailed
from tests.hosts.rollout.load import Load
from tests.hosts.rollout.test_rolling_deploy import _serving, lab_registry  # noqa: F401 - a fixture

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    path = tmp_path_factory.mktemp("pipeline") / "releases.jsonl"
    original, releases.HISTORY = releases.HISTORY, path
    yield path
    releases.HISTORY = original


@pytest.fixture(scope="module")
def current(history, expected_release):
    """The running release deployed again through the pipeline: its marker is the last good one."""
    return deploy.deploy("lab", expected_release)


@pytest.fixture(scope="module")
def unsellable(lab_registry, expected_release, current, public_url):  # noqa: F811
    repository, credentials = lab_registry
    release = f"{expected_release}-unsellable"
    engine = docker.from_env()
    with (HERE / "unsellable.Dockerfile").open("rb") as dockerfile:
        engine.images.build(fileobj=dockerfile, tag=f"{repository}:{release}", rm=True,
                            buildargs={"RELEASE_IMAGE": f"shopstack/shop:{expected_release}"})
    auth = {"username": credentials["REGISTRY_USERNAME"], "password": credentials["REGISTRY_PASSWORD"]}
    for chunk in engine.images.push(repository, tag=release, stream=True, decode=True, auth_config=auth):
        assert "error" not in chunk, chunk
    with Load(public_url) as load:
        time.sleep(2)
        with pytest.raises(StepFailed) as failure:
            deploy.deploy("lab", release)
        time.sleep(2)
    return release, str(failure.value), load.result


def test_redeploying_the_running_release_changes_nothing(current):
    assert "no changes on the hosts" in current and "purchase journey ok" in current


def test_the_unsellable_release_fails_the_step_and_is_rolled_back(unsellable, expected_release):
    _, message, _ = unsellable
    assert "add to cart" in message and f"rolled back to {expected_release}, which serves again" in message


def test_the_rollback_loses_no_request(unsellable):
    _, _, load = unsellable
    assert load.sent >= 100 and load.failures == [], load.failures[:10]


def test_every_host_serves_the_last_good_release_again(unsellable, public_url, expected_release):
    assert _serving(public_url) == {expected_release}


def test_the_failure_and_its_restoration_are_recorded(unsellable, expected_release):
    marker = releases.markers("lab")[-1]
    assert (marker.result, marker.rolled_back_to) == (releases.FAILED, expected_release)
    assert marker.failed_at <= marker.restored_at
