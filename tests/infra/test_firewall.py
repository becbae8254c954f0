import pytest

from infra.components.firewall import AMQPS, FLOWS, HTTP, HTTPS, POSTGRES, REDIS, Firewall, FirewallArgs, Tier
from tests.infra.support import TAGS, build

INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


@pytest.fixture(scope="module")
def firewall():
    return build(lambda: Firewall("shop-test-sg", FirewallArgs(vpc_id="vpc-test", tags=TAGS)))


def _group_ids(run):
    return {
        group.name.removeprefix("shop-test-sg-"): group.id
        for group in run.of_type("aws:ec2/securityGroup:SecurityGroup")
    }


def _admitted(run, tier):
    """(source tier or cidr, port) pairs the tier's group admits."""
    names = {group_id: name for name, group_id in _group_ids(run).items()}
    target = _group_ids(run)[str(tier)]
    return {
        (
            names.get(rule.inputs.get("referencedSecurityGroupId"), rule.inputs.get("cidrIpv4")),
            int(rule.inputs["fromPort"]),
        )
        for rule in run.of_type(INGRESS)
        if rule.inputs["securityGroupId"] == target
    }


def test_only_the_load_balancer_admits_the_internet_and_only_on_80_and_443(firewall):
    open_rules = [r for r in firewall.of_type(INGRESS) if r.inputs.get("cidrIpv4") or r.inputs.get("cidrIpv6")]
    lb_group = _group_ids(firewall)[str(Tier.LOAD_BALANCER)]
    for rule in open_rules:
        assert rule.inputs["securityGroupId"] == lb_group, f"{rule.urn} opens a host or data tier"
    assert {int(r.inputs["fromPort"]) for r in open_rules} == {HTTP, HTTPS}


def test_web_hosts_admit_only_the_load_balancer_on_http(firewall):
    assert _admitted(firewall, Tier.WEB) == {("alb", HTTP)}


def test_worker_hosts_admit_nothing(firewall):
    assert _admitted(firewall, Tier.WORKER) == set()


def test_the_database_admits_postgresql_from_the_hosts_and_the_login_rotation_only(firewall):
    assert _admitted(firewall, Tier.DATABASE) == {("web", POSTGRES), ("worker", POSTGRES), ("db-rotation", POSTGRES)}


def test_the_cache_admits_redis_from_the_hosts_only(firewall):
    assert _admitted(firewall, Tier.CACHE) == {("web", REDIS), ("worker", REDIS)}


def test_the_login_rotation_admits_nothing_and_reaches_postgresql_and_https_only(firewall):
    group = _group_ids(firewall)[str(Tier.LOGIN_ROTATION)]
    egress = {
        (r.inputs.get("cidrIpv4") or r.inputs.get("referencedSecurityGroupId"), int(r.inputs["fromPort"]))
        for r in firewall.of_type(EGRESS)
        if r.inputs["securityGroupId"] == group
    }
    assert _admitted(firewall, Tier.LOGIN_ROTATION) == set()
    assert egress == {(_group_ids(firewall)[str(Tier.DATABASE)], POSTGRES), ("0.0.0.0/0", HTTPS)}


def test_the_broker_admits_amqps_from_the_hosts_and_its_management_api_from_the_web_hosts_only(firewall):
    assert _admitted(firewall, Tier.BROKER) == {("web", AMQPS), ("worker", AMQPS), ("web", HTTPS)}


@pytest.mark.parametrize("tier", [Tier.DATABASE, Tier.CACHE, Tier.BROKER])
def test_data_services_open_no_connections(firewall, tier):
    group = _group_ids(firewall)[str(tier)]
    assert not [r.urn for r in firewall.of_type(EGRESS) if r.inputs["securityGroupId"] == group]


def test_every_rule_is_a_single_tcp_port_with_a_reason(firewall):
    for rule in firewall.of_type(INGRESS) + firewall.of_type(EGRESS):
        assert rule.inputs["ipProtocol"] == "tcp", rule.urn
        assert rule.inputs["fromPort"] == rule.inputs["toPort"], rule.urn
        assert rule.inputs["description"], rule.urn


def test_each_flow_between_groups_is_allowed_on_both_ends(firewall):
    between_groups = [f for f in FLOWS if isinstance(f.source, Tier) and isinstance(f.target, Tier)]
    egress_to_groups = [r for r in firewall.of_type(EGRESS) if r.inputs.get("referencedSecurityGroupId")]
    assert len(egress_to_groups) == len(between_groups)
