"""Rolling deploys under load through the load balancer, in the lab.

The fixtures run, in order and once each: a deploy of a new release, a deploy of a broken one,
and a rollback, each while a bounded load of real requests goes through lb-1. The tests assert
on what each run did. They push to the lab's registry, so they need the lab (python -m lab up).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.hosts.playbook import ROOT, run_playbook
from tests.hosts.rollout.load import Load, LoadResult

MEASUREMENTS = ROOT / "lab" / ".logs" / "rollout.json"


@pytest.fixture(scope="module")
def lab_registry():
    from lab import topology
    from lab.secrets import VAULT_PASSWORD, lab_secrets

    if not VAULT_PASSWORD.exists():
        pytest.fail("rolling deploys are proven in the lab: run `make test-hosts` (or `python -m lab up` first)",
                    pytrace=False)
    password = str(lab_secrets()["vault_shop_registry_password"])
    return topology.push_repository(), {"REGISTRY_USERNAME": topology.REGISTRY_USER,
                                        "REGISTRY_PASSWORD": password}


def _build_and_push(lab_registry, release: str) -> None:
    repository, credentials = lab_registry
    subprocess.run([sys.executable, str(ROOT / "pipelines" / "build_image.py"), "--release",
                    release, "--push", repository], check=True, env={**os.environ, **credentials},
                   timeout=600, stdout=subprocess.DEVNULL)


def _push_broken(lab_registry, good_release: str, release: str) -> None:
    import docker

    repository, credentials = lab_registry
    engine = docker.from_env()
    with (Path(__file__).parent / "broken.Dockerfile").open("rb") as dockerfile:
        engine.images.build(fileobj=dockerfile, tag=f"{repository}:{release}", rm=True,
                            buildargs={"RELEASE_IMAGE": f"shopstack/shop:{good_release}"})
    auth = {"username": credentials["REGISTRY_USERNAME"],
            "password": credentials["REGISTRY_PASSWORD"]}
    for chunk in engine.images.push(repository, tag=release, stream=True, decode=True,
                                    auth_config=auth):
        assert "error" not in chunk, chunk


def _record(name: str, run, load: LoadResult) -> None:
    measurements = json.loads(MEASUREMENTS.read_text()) if MEASUREMENTS.exists() else {}
    measurements[name] = {"playbook_seconds": round(run.seconds, 1), "returncode": run.returncode,
                          "requests": load.sent, "failed": len(load.failures),
                          "releases": dict(load.releases)}
    MEASUREMENTS.write_text(json.dumps(measurements, indent=2) + "\n")


def _under_load(public_url: str, inventory: str, playbook: str, *args: str):
    with Load(public_url) as load:
        time.sleep(2)
        run = run_playbook(inventory, playbook, *args, timeout=600)
        time.sleep(2)
    return run, load.result


@pytest.fixture(scope="module")
def releases(expected_release):
    return {"running": expected_release, "next": f"{expected_release}-next",
            "broken": f"{expected_release}-broken"}


@pytest.fixture(scope="module")
def good_deploy(pytestconfig, public_url, lab_registry, releases):
    _build_and_push(lab_registry, releases["next"])
    run, load = _under_load(public_url, pytestconfig.getoption("ansible_inventory"),
                            "deploy.yml", "-e", f"shop_release={releases['next']}")
    _record("deploy", run, load)
    return run, load


@pytest.fixture(scope="module")
def broken_deploy(pytestconfig, public_url, lab_registry, releases, good_deploy):
    _push_broken(lab_registry, releases["next"], releases["broken"])
    run, load = _under_load(public_url, pytestconfig.getoption("ansible_inventory"),
                            "deploy.yml", "-e", f"shop_release={releases['broken']}")
    _record("broken_deploy", run, load)
    return run, load


@pytest.fixture(scope="module")
def rollback(pytestconfig, public_url, broken_deploy):
    run, load = _under_load(public_url, pytestconfig.getoption("ansible_inventory"),
                            "rollback.yml")
    _record("rollback", run, load)
    return run, load


def _serving(public_url: str, samples: int = 20) -> set[str]:
    return {requests.get(f"{public_url}/healthz", timeout=10).json()["release"]
            for _ in range(samples)}


def test_deploy_succeeds(good_deploy):
    run, _ = good_deploy
    assert run.returncode == 0, f"see {run.log}"


def test_deploy_loses_no_request(good_deploy):
    _, load = good_deploy
    assert load.sent >= 100 and load.failures == [], load.failures[:10]


def test_deploy_leaves_every_web_host_on_the_new_release(good_deploy, public_url, releases):
    assert _serving(public_url) == {releases["next"]}


def test_broken_release_stops_the_roll_at_the_first_host(broken_deploy, web_hosts):
    run, _ = broken_deploy
    assert run.returncode != 0 and f"failed its health checks on {web_hosts[0]}" in run.output


def test_broken_release_never_reaches_the_second_host(broken_deploy, inventory, web_hosts,
                                                     releases):
    address = inventory.get_variables(web_hosts[1])["ansible_host"]
    health = requests.get(f"http://{address}/healthz", timeout=10).json()
    assert health["release"] == releases["next"]


def test_old_release_keeps_serving_through_a_broken_deploy(broken_deploy, releases):
    _, load = broken_deploy
    assert load.failures == [] and set(load.releases) == {releases["next"]}, load.failures[:10]


def test_rollback_loses_no_request(rollback):
    run, load = rollback
    assert run.returncode == 0 and load.failures == [], (run.log, load.failures[:10])


def test_rollback_returns_to_the_release_before(rollback, public_url, releases):
    assert _serving(public_url) == {releases["running"]}
