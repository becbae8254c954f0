"""Every host, as an auditor checks it (CIS Debian 12, dev-sec ssh-baseline): sshd's effective
settings, a firewall that opens only what the host serves, no pending security updates, auditd,
the kernel's and network's settings, no core dumps, login defaults, a legal banner and no unused
network protocols.

What a container cannot do (run auditd, set most sysctls) the inventory says with the role's
variables (hardening_auditd_enabled, hardening_sysctls_unsettable); the configuration is checked
everywhere, the live state where the host can have it. The hardening role's molecule scenario
runs this file too.
"""

import json
import re

import pytest

from tests.hosts.conftest import group_of

testinfra_hosts = ["ansible://all"]

# What each kind of host serves beyond its loopback (TCP ports), and so what its firewall lets
# in: SSH and node_exporter everywhere, plus the group's own service.
EXPECTED_PORTS = {
    "web": {22, 80, 8000, 9100},
    "worker": {22, 9100},
    "data": {22, 5432, 5672, 6379, 9100, 9121, 9187, 15692},  # with the exporters and RabbitMQ's plugin
    "monitor": {22, 9090, 9093, 9100},
    "lb": {22, 80, 9100},
}

# CIS Debian 12 sections 1.5 and 3.3.
SYSCTLS = {
    "net.ipv4.conf.all.accept_redirects": 0,
    "net.ipv4.conf.default.accept_redirects": 0,
    "net.ipv4.conf.all.secure_redirects": 0,
    "net.ipv4.conf.default.secure_redirects": 0,
    "net.ipv6.conf.all.accept_redirects": 0,
    "net.ipv6.conf.default.accept_redirects": 0,
    "net.ipv4.conf.all.send_redirects": 0,
    "net.ipv4.conf.default.send_redirects": 0,
    "net.ipv4.conf.all.accept_source_route": 0,
    "net.ipv4.conf.default.accept_source_route": 0,
    "net.ipv6.conf.all.accept_source_route": 0,
    "net.ipv6.conf.default.accept_source_route": 0,
    "net.ipv4.conf.all.log_martians": 1,
    "net.ipv4.conf.default.log_martians": 1,
    "net.ipv4.conf.all.rp_filter": 1,
    "net.ipv4.conf.default.rp_filter": 1,
    "net.ipv4.tcp_syncookies": 1,
    "net.ipv4.icmp_echo_ignore_broadcasts": 1,
    "net.ipv4.icmp_ignore_bogus_error_responses": 1,
    "kernel.yama.ptrace_scope": 1,
    "kernel.kptr_restrict": 2,
    "kernel.dmesg_restrict": 1,
    "kernel.randomize_va_space": 2,
    "fs.suid_dumpable": 0,
}

# Algorithms the dev-sec ssh-baseline rejects: CBC and RC4 ciphers, MD5/SHA-1/64-bit MACs,
# SHA-1 and small-group key exchanges, SHA-1 and DSA host keys.
WEAK_SSH_ALGORITHMS = {
    "ciphers": r"cbc|3des|arcfour|blowfish|cast128",
    "macs": r"md5|sha1|ripemd|umac-64",
    "kexalgorithms": r"sha1|group1-|group14",
    "hostkeyalgorithms": r"^ssh-(rsa|dss)",
}

# What an auditor expects the audit rules to watch (CIS Debian 12 section 6.3.3).
AUDIT_RULES = [
    "-w /etc/passwd -p wa -k identity",
    "-w /etc/shadow -p wa -k identity",
    "-w /etc/group -p wa -k identity",
    "-w /etc/gshadow -p wa -k identity",
    "-w /etc/sudoers -p wa -k scope",
    "-w /etc/sudoers.d -p wa -k scope",
    "-w /etc/localtime -p wa -k time-change",
    "-w /var/log/lastlog -p wa -k logins",
    "-w /var/log/wtmp -p wa -k session",
    "-w /var/log/btmp -p wa -k session",
    "-S adjtimex,settimeofday,clock_settime -k time-change",
    "-S init_module,finit_module,delete_module",
    "-F path=/usr/bin/sudo -F perm=x",
    "-F path=/usr/bin/su -F perm=x",
]
AUDIT_WATCHES = ["/etc/passwd", "/etc/shadow", "/etc/group", "/etc/sudoers", "/var/log/wtmp"]

UNUSED_PROTOCOLS = ["dccp", "sctp", "rds", "tipc"]
BANNERS = ["/etc/issue", "/etc/issue.net"]


def _inventory_variable(host, name, default):
    """A hardening_* variable the inventory sets for a host that cannot do something."""
    return host.ansible.get_variables().get(name, default)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("permitrootlogin", "no"),
        ("passwordauthentication", "no"),
        ("kbdinteractiveauthentication", "no"),
        ("permitemptypasswords", "no"),
        ("pubkeyauthentication", "yes"),
        ("hostbasedauthentication", "no"),
        ("ignorerhosts", "yes"),
        ("x11forwarding", "no"),
        ("allowtcpforwarding", "no"),
        ("allowagentforwarding", "no"),
        ("allowstreamlocalforwarding", "no"),
        ("gatewayports", "no"),
        ("permittunnel", "no"),
        ("permituserenvironment", "no"),
        ("maxauthtries", "3"),
        ("logingracetime", "30"),
        ("maxsessions", "10"),
        ("maxstartups", "10:30:60"),
        ("clientaliveinterval", "300"),
        ("clientalivecountmax", "2"),
        ("loglevel", "VERBOSE"),
        ("banner", "/etc/issue.net"),
    ],
)
def test_sshd_setting_is_in_effect(host, setting, value):
    effective = host.check_output("sshd -T")
    assert f"{setting} {value}" in effective.splitlines()


@pytest.mark.parametrize(("setting", "weak"), WEAK_SSH_ALGORITHMS.items(), ids=WEAK_SSH_ALGORITHMS)
def test_sshd_offers_no_weak_algorithm(host, setting, weak):
    (line,) = [line for line in host.check_output("sshd -T").splitlines() if line.startswith(f"{setting} ")]
    offered = line.split(" ", 1)[1].split(",")
    assert [algorithm for algorithm in offered if re.search(weak, algorithm)] == []


def test_firewall_drops_what_it_does_not_allow(host):
    chain = json.loads(host.check_output("nft -j list chain inet shopstack_firewall input"))
    (policy,) = [item["chain"]["policy"] for item in chain["nftables"] if "chain" in item]
    assert policy == "drop"


def _accepted_ports(host) -> set[int]:
    ruleset = json.loads(host.check_output("nft -j list chain inet shopstack_firewall input"))
    ports = set()
    for item in ruleset["nftables"]:
        for expression in item.get("rule", {}).get("expr", []):
            match = expression.get("match", {})
            if match.get("left", {}).get("payload", {}).get("field") == "dport":
                ports.add(int(match["right"]))
    return ports


def test_firewall_accepts_exactly_the_hosts_services(host):
    assert _accepted_ports(host) == EXPECTED_PORTS[group_of(host)]


def _ports_beyond_loopback(host) -> set[int]:
    ports = set()
    for url in host.socket.get_listening_sockets():
        if not url.startswith("tcp://"):
            continue
        address, port = url[len("tcp://"):].rsplit(":", 1)
        if not (address.startswith("127.") or address == "::1"):
            ports.add(int(port))
    return ports


def test_only_the_hosts_services_listen_beyond_the_loopback(host):
    assert _ports_beyond_loopback(host) <= EXPECTED_PORTS[group_of(host)]


def test_no_security_update_is_pending(host):
    simulated = host.check_output("apt-get --simulate -o Debug::NoLocking=true upgrade")
    pending = [line for line in simulated.splitlines() if line.startswith("Inst ") and "Debian-Security" in line]
    assert pending == []


def _effective_sysctl_config(host) -> dict[str, str]:
    """Every key systemd-sysctl sets at boot, from all its files in order (the last one wins)."""
    settings = {}
    for line in host.check_output("/lib/systemd/systemd-sysctl --cat-config").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";")) and "=" in line:
            key, value = line.split("=", 1)
            settings[key.strip().lstrip("-")] = value.strip()
    return settings


@pytest.mark.parametrize(("key", "value"), SYSCTLS.items(), ids=SYSCTLS)
def test_sysctl_is_set_at_boot(host, key, value):
    assert _effective_sysctl_config(host).get(key) == str(value)


@pytest.mark.parametrize(("key", "value"), SYSCTLS.items(), ids=SYSCTLS)
def test_sysctl_is_in_effect(host, key, value):
    if key in _inventory_variable(host, "hardening_sysctls_unsettable", []):
        pytest.skip(f"{key}: this host's kernel does not let it set (hardening_sysctls_unsettable)")
    assert host.check_output(f"sysctl -n {key}") == str(value)


def test_logins_may_not_dump_core(host):
    assert host.check_output("runuser -u nobody -- sh -c 'ulimit -H -c'") == "0"


@pytest.mark.parametrize(("setting", "value"), [("Storage", "none"), ("ProcessSizeMax", "0")])
def test_systemd_keeps_no_core_dumps(host, setting, value):
    config = host.check_output("systemd-analyze cat-config systemd/coredump.conf")
    values = [line.split("=", 1)[1] for line in config.splitlines() if line.startswith(f"{setting}=")]
    assert values[-1:] == [value]


def _login_defs(host) -> dict[str, str]:
    lines = host.file("/etc/login.defs").content_string.splitlines()
    return dict(line.split(None, 1) for line in lines if line.strip() and not line.startswith("#"))


def test_login_umask_keeps_files_from_others(host):
    assert _login_defs(host)["UMASK"].strip() == "027"


@pytest.mark.parametrize("setting", ["SHA_CRYPT_MIN_ROUNDS", "SHA_CRYPT_MAX_ROUNDS"])
def test_password_hashes_take_many_rounds(host, setting):
    assert int(_login_defs(host).get(setting, "0")) >= 65536


@pytest.mark.parametrize("path", BANNERS)
def test_banner_is_shown(host, path):
    assert host.file(path).content_string.strip() != ""


@pytest.mark.parametrize("path", BANNERS)
def test_banner_names_no_system(host, path):
    banner = host.file(path).content_string
    assert re.search(r"\\[mrsv]|debian|linux|ubuntu", banner, re.IGNORECASE) is None


@pytest.mark.parametrize("module", UNUSED_PROTOCOLS)
def test_unused_protocol_cannot_load(host, module):
    assert f"install {module} /bin/false" in host.check_output("modprobe --showconfig").splitlines()


@pytest.mark.parametrize("module", UNUSED_PROTOCOLS)
def test_unused_protocol_is_blacklisted(host, module):
    assert f"blacklist {module}" in host.check_output("modprobe --showconfig").splitlines()


def _audit_rules(host) -> list[str]:
    """The rules auditd loads at boot (augenrules puts them together from rules.d), no comments."""
    text = host.file("/etc/audit/audit.rules").content_string
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("rule", AUDIT_RULES)
def test_audit_rule_is_configured(host, rule):
    assert [line for line in _audit_rules(host) if rule in line] != []


def test_audit_rules_are_locked_last(host):
    assert _audit_rules(host)[-1] == "-e 2"


def _auditd_runs_here(host) -> None:
    if not _inventory_variable(host, "hardening_auditd_enabled", True):
        pytest.skip("this host cannot run auditd (hardening_auditd_enabled: false)")


def test_auditd_is_running(host):
    _auditd_runs_here(host)
    assert host.service("auditd").is_running


def test_loaded_audit_rules_are_locked(host):
    _auditd_runs_here(host)
    assert "enabled 2" in host.check_output("auditctl -s").splitlines()


@pytest.mark.parametrize("path", AUDIT_WATCHES)
def test_audit_watch_is_loaded(host, path):
    _auditd_runs_here(host)
    assert f"-w {path} -p wa" in host.check_output("auditctl -l")
