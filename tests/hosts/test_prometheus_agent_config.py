"""prometheus_agent's configuration, rendered by Ansible from the role's template with the AWS
inventory's shape of settings (no lab, no AWS): what the agent discovers, keeps and sends."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROLE = Path(__file__).resolve().parents[2] / "playbooks" / "roles" / "prometheus_agent"
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
SETTINGS = {"prometheus_agent_remote_write_url": "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write",
            "prometheus_agent_region": "eu-west-1", "prometheus_agent_stack": "dev",
            "prometheus_agent_instance_id": "i-0123456789abcdef0"}


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> dict:
    directory = tmp_path_factory.mktemp("agent")
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {**defaults, **SETTINGS},
             "tasks": [{"ansible.builtin.template": {
                 "src": str(ROLE / "templates" / "etc" / "prometheus" / "prometheus.yml.j2"),
                 "dest": str(directory / "prometheus.yml"), "mode": "0600"}}]}]
    (directory / "play.yml").write_text(json.dumps(play))
    completed = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", "localhost,", str(directory / "play.yml"),
                                "-e", json.dumps({"ansible_python_interpreter": sys.executable})],
                               capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stdout[-2000:]
    return yaml.safe_load((directory / "prometheus.yml").read_text())


def _jobs(config: dict) -> dict:
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_samples_go_to_the_managed_workspace_signed_with_sigv4(config):
    (remote,) = config["remote_write"]
    assert remote == {"url": SETTINGS["prometheus_agent_remote_write_url"], "sigv4": {"region": "eu-west-1"}}


@pytest.mark.parametrize("job", ["node", "shop"])
def test_each_agent_discovers_only_its_own_instance_of_its_stack(config, job):
    (discovery,) = _jobs(config)[job]["ec2_sd_configs"]
    filters = {f["name"]: f["values"] for f in discovery["filters"]}
    assert filters["tag:shopstack:stack"] == ["dev"] and filters["instance-id"] == ["i-0123456789abcdef0"]


def test_the_shop_is_scraped_on_web_hosts_only(config):
    (discovery,) = _jobs(config)["shop"]["ec2_sd_configs"]
    assert {"name": "tag:shopstack:role", "values": ["web"]} in discovery["filters"]


def test_every_series_names_its_stack(config):
    assert config["global"]["external_labels"] == {"stack": "dev"}
