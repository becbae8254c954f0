"""The lab's monitoring host: Prometheus scrapes every host and the shop and evaluates the
repository's rules; Alertmanager is up with the repository's routing."""

import json
from pathlib import Path

import pytest
import yaml

testinfra_hosts = ["ansible://monitor"]


@pytest.mark.parametrize("service", ["prometheus", "prometheus-alertmanager", "prometheus-blackbox-exporter"])
def test_service_is_running(host, service):
    assert host.service(service).is_running


def test_alertmanager_is_ready(host):
    host.run_expect([0], "curl -fsS http://127.0.0.1:9093/-/ready")


def test_blackbox_exporter_reaches_the_shop_through_the_load_balancer(host):
    public_url = host.ansible.get_variables()["shop_public_url"]
    probe = host.check_output(f"curl -fsS 'http://127.0.0.1:9115/probe?module=http_2xx&target={public_url}/healthz'")
    assert "probe_success 1" in probe.splitlines()


def test_prometheus_sees_the_shop_through_the_blackbox_probe(host):
    reply = json.loads(host.check_output(
        "curl -fsS --get http://127.0.0.1:9090/api/v1/query --data-urlencode 'query=probe_success{job=\"blackbox\"}'"))
    assert [sample["value"][1] for sample in reply["data"]["result"]] == ["1"]


def _targets(host) -> list[dict]:
    reply = json.loads(host.check_output("curl -fsS http://127.0.0.1:9090/api/v1/targets"))
    return reply["data"]["activeTargets"]


JOBS = ["node", "shop", "postgres", "redis", "rabbitmq", "blackbox"]


@pytest.mark.parametrize("job", JOBS)
def test_prometheus_scrapes_the_job(host, job):
    assert [t for t in _targets(host) if t["labels"]["job"] == job]


@pytest.mark.parametrize("job", JOBS)
def test_every_target_of_the_job_is_up(host, job):
    health = {t["labels"]["instance"]: t["health"] for t in _targets(host)
              if t["labels"]["job"] == job}
    assert set(health.values()) == {"up"}, health


MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
RULE_GROUPS = sorted(group["name"] for path in (MONITORING / "rules").glob("*.yml")
                     for group in yaml.safe_load(path.read_text())["groups"])
RECEIVERS = sorted(r["name"] for r in
                   yaml.safe_load((MONITORING / "alertmanager" / "alertmanager.yml").read_text())["receivers"])


def _loaded_rule_groups(host) -> dict[str, dict]:
    reply = json.loads(host.check_output("curl -fsS http://127.0.0.1:9090/api/v1/rules"))
    return {group["name"]: group for group in reply["data"]["groups"]}


@pytest.mark.parametrize("group", RULE_GROUPS)
def test_prometheus_loads_the_repositorys_rule_group(host, group):
    assert group in _loaded_rule_groups(host)


@pytest.mark.parametrize("group", RULE_GROUPS)
def test_prometheus_evaluates_the_rule_group_without_errors(host, group):
    rules = _loaded_rule_groups(host)[group]["rules"]
    assert {rule["name"]: rule.get("lastError", "") for rule in rules if rule["health"] == "err"} == {}


def test_alertmanager_runs_the_repositorys_receivers(host):
    status = json.loads(host.check_output("curl -fsS http://127.0.0.1:9093/api/v2/status"))
    receivers = yaml.safe_load(status["config"]["original"])["receivers"]
    assert sorted(r["name"] for r in receivers) == RECEIVERS
