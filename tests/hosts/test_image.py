"""The shop's image as built for a release: not root, no build tools, a working HEALTHCHECK, labelled.

Needs the Docker engine that built it (``make test-hosts`` builds it before running these).
"""

from __future__ import annotations

import time

import docker
import pytest

from pipelines import build_image


@pytest.fixture(scope="module")
def image(expected_release):
    engine = docker.from_env()
    return engine, engine.images.get(f"{build_image.LOCAL_REPOSITORY}:{expected_release}")


def _run(image, *command: str) -> tuple[int, str]:
    engine, built = image
    container = engine.containers.run(built.id, list(command), entrypoint=[], detach=True)
    try:
        status = container.wait(timeout=60)["StatusCode"]
        return status, container.logs().decode()
    finally:
        container.remove(force=True)


def test_the_image_runs_as_a_numeric_non_root_user(image):
    assert image[1].attrs["Config"]["User"] == "10001:10001"
    assert _run(image, "id", "-u") == (0, "10001\n")


@pytest.mark.parametrize("tool", ["gcc", "cc", "make", "pip", "uv"])
def test_the_final_stage_has_no_build_tool(image, tool):
    status, _ = _run(image, "sh", "-c", f"command -v {tool}")
    assert status != 0, f"{tool} is in the image"


def test_the_labels_name_the_commit_and_version(image, expected_release):
    labels = image[1].labels
    assert labels["org.opencontainers.image.revision"] == build_image.git_sha()
    assert labels["org.opencontainers.image.version"] == build_image.project_version()
    assert labels["org.shopstack.release"] == expected_release


def test_the_healthcheck_finds_the_shop_healthy(image):
    engine, built = image
    container = engine.containers.run(built.id, detach=True, environment={"SHOP_RELEASE": "image-test"},
                                       healthcheck={"test": built.attrs["Config"]["Healthcheck"]["Test"],
                                                    "interval": 2_000_000_000, "start_period": 30_000_000_000})
    try:
        deadline, health = time.monotonic() + 90, "starting"
        while time.monotonic() < deadline and health == "starting":
            time.sleep(2)
            container.reload()
            health = container.attrs["State"]["Health"]["Status"]
        assert health == "healthy", container.logs().decode()[-2000:]
    finally:
        container.remove(force=True)
