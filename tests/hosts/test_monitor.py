"""The lab's monitoring host: Prometheus scrapes every host and the shop; Alertmanager is up."""

import json

import pytest

testinfra_hosts = ["ansible://monitor"]


@pytest.mark.parametrize("service", ["prometheus", "prometheus-alertmanager"])
def test_service_is_running(host, service):
    assert host.service(service).is_running


def test_alertmanager_is_ready(host):
    host.run_expect([0], "curl -fsS http://127.0.0.1:9093/-/ready")


def _targets(host) -> list[dict]:
    reply = json.loads(host.check_output("curl -fsS http://127.0.0.1:9090/api/v1/targets"))
    return reply["data"]["activeTargets"]


@pytest.mark.parametrize("job", ["node", "shop"])
def test_prometheus_scrapes_the_job(host, job):
    assert [t for t in _targets(host) if t["labels"]["job"] == job]


@pytest.mark.parametrize("job", ["node", "shop"])
def test_every_target_of_the_job_is_up(host, job):
    health = {t["labels"]["instance"]: t["health"] for t in _targets(host)
              if t["labels"]["job"] == job}
    assert set(health.values()) == {"up"}, health
