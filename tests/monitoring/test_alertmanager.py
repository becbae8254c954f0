"""Alertmanager's routing: pages, tickets, and what a host being down keeps quiet."""

import re

import pytest
import yaml

from .conftest import MONITORING, run

CONFIG = MONITORING / "alertmanager" / "alertmanager.yml"
INHIBIT_RULES = yaml.safe_load(CONFIG.read_text())["inhibit_rules"]


def test_amtool_accepts_the_config():
    result = run("amtool", "check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("labels", "receiver"), [
    (["alertname=ShopHostDown", "severity=critical"], "page"),
    (["alertname=ShopDiskSpaceLow", "severity=warning"], "ticket"),
    (["alertname=ShopSomethingToWatch", "severity=info"], "blackhole"),
    (["alertname=ShopWithoutSeverity"], "ticket"),
])
def test_alert_reaches_its_receiver(labels, receiver):
    result = run("amtool", "config", "routes", "test", f"--config.file={CONFIG}",
                 f"--verify.receivers={receiver}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr


def _matches(matchers: list[str], alert: dict) -> bool:
    for matcher in matchers:
        name, op, value = re.fullmatch(r'(\w+)(=|!=)"(.*)"', matcher).groups()
        if (alert.get(name, "") == value) != (op == "="):
            return False
    return True


def _inhibited(target: dict, source: dict) -> bool:
    return any(_matches(r["source_matchers"], source) and _matches(r["target_matchers"], target)
               and all(source.get(label, "") == target.get(label, "") for label in r["equal"])
               for r in INHIBIT_RULES)


HOST_DOWN = {"alertname": "ShopHostDown", "severity": "critical", "instance": "web-1"}


def test_host_down_silences_other_alerts_of_the_host():
    assert _inhibited({"alertname": "ShopDiskSpaceLow", "severity": "warning", "instance": "web-1"}, HOST_DOWN)


def test_host_down_leaves_alerts_of_other_hosts_alone():
    assert not _inhibited({"alertname": "ShopDiskSpaceLow", "severity": "warning", "instance": "web-2"}, HOST_DOWN)


def test_host_down_does_not_silence_itself():
    assert not _inhibited(HOST_DOWN, HOST_DOWN)


def test_an_slo_page_silences_the_same_slos_ticket():
    page = {"alertname": "ShopAPIAvailabilityBudgetBurn", "severity": "critical", "slo": "api-availability"}
    assert _inhibited({**page, "severity": "warning"}, page)


def test_an_slo_page_leaves_other_slos_tickets_alone():
    page = {"alertname": "ShopAPIAvailabilityBudgetBurn", "severity": "critical", "slo": "api-availability"}
    assert not _inhibited({**page, "severity": "warning", "slo": "other"}, page)
