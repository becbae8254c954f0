"""Every host: base packages, time, unattended upgrades, node_exporter."""

import pytest

testinfra_hosts = ["ansible://all"]


@pytest.mark.parametrize("package", ["acl", "ca-certificates", "chrony", "unattended-upgrades"])
def test_base_package_is_installed(host, package):
    assert host.package(package).is_installed


@pytest.mark.parametrize(
    "service", ["chrony", "ssh", "nftables", "prometheus-node-exporter", "unattended-upgrades"]
)
def test_service_is_enabled(host, service):
    assert host.service(service).is_enabled


@pytest.mark.parametrize(
    "service", ["chrony", "ssh", "nftables", "prometheus-node-exporter", "unattended-upgrades"]
)
def test_service_is_running(host, service):
    assert host.service(service).is_running


def test_time_zone_is_utc(host):
    assert host.file("/etc/localtime").linked_to == "/usr/share/zoneinfo/Etc/UTC"


def test_chrony_answers(host):
    assert "Reference ID" in host.check_output("chronyc -n tracking")


def test_unattended_upgrades_run_daily(host):
    assert host.file("/etc/apt/apt.conf.d/20auto-upgrades").contains(
        'APT::Periodic::Unattended-Upgrade "1";'
    )


def test_security_updates_are_allowed(host):
    assert host.file("/etc/apt/apt.conf.d/50unattended-upgrades").contains("label=Debian-Security")


def test_node_exporter_answers(host):
    assert "node_uname_info" in host.check_output("curl -fsS http://127.0.0.1:9100/metrics")


def test_operator_account_exists(host, operator):
    assert host.user(operator).exists


def test_operator_has_no_password(host, operator):
    assert host.user(operator).password in {"!", "*", "!*"}


def test_operator_may_use_sudo_without_a_password(host, operator):
    assert "NOPASSWD: ALL" in host.check_output(f"sudo -l -U {operator}")


def test_operator_keys_are_private(host, operator):
    keys = host.file(f"/home/{operator}/.ssh/authorized_keys")
    assert (keys.mode, keys.user) == (0o600, operator)
