import pytest

from infra.components.network import Network, NetworkArgs, subnet_cidrs
from infra.config import NetworkSettings
from tests.infra.support import TAGS, build, settings

ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]
SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"


def network(stack: str, **changes):
    network_settings = settings(stack, "network", NetworkSettings, **changes)
    return build(
        lambda: Network(
            "shop-test",
            NetworkArgs(network_settings, availability_zones=ZONES, region="us-east-1", tags=TAGS),
        )
    )


def test_subnet_ranges_do_not_overlap():
    public, private = subnet_cidrs("10.30.0.0/16", 20, 3)
    assert public == ["10.30.0.0/20", "10.30.16.0/20", "10.30.32.0/20"]
    assert private == ["10.30.48.0/20", "10.30.64.0/20", "10.30.80.0/20"]


@pytest.mark.parametrize(("stack", "zones"), [("dev", 2), ("prod", 3)])
def test_a_public_and_a_private_subnet_per_zone(stack, zones):
    run = network(stack)
    subnets = run.of_type(SUBNET)
    for tier in ("public", "private"):
        spread = {s.inputs["availabilityZone"] for s in subnets if f"-{tier}-" in s.name}
        assert spread == set(ZONES[:zones]), f"{tier} subnets cover {spread}"


def test_no_subnet_hands_out_public_addresses():
    run = network("prod")
    for subnet in run.of_type(SUBNET):
        assert subnet.inputs["mapPublicIpOnLaunch"] is False, subnet.urn


@pytest.mark.parametrize(("nat_per_zone", "gateways"), [(False, 1), (True, 3)])
def test_nat_gateways_one_shared_or_one_per_zone(nat_per_zone, gateways):
    run = network("prod", nat_per_zone=nat_per_zone)
    assert len(run.of_type(NAT)) == gateways


def test_each_private_zone_leaves_through_its_own_nat_in_prod():
    run = network("prod")
    nat_ids = {nat.id for nat in run.of_type(NAT)}
    private_routes = [t for t in run.of_type(ROUTE_TABLE) if "-private-" in t.name]
    used = {t.inputs["routes"][0]["natGatewayId"] for t in private_routes}
    assert used == nat_ids, f"private route tables use {used}"


def test_flow_logs_capture_all_traffic_for_the_configured_retention():
    run = network("dev", flow_log_retention_days=30)
    flow_log = run.one("aws:ec2/flowLog:FlowLog")
    log_group = run.one("aws:cloudwatch/logGroup:LogGroup")
    assert flow_log.inputs["trafficType"] == "ALL", flow_log.urn
    assert flow_log.inputs["logDestination"] == log_group.state["arn"], flow_log.urn
    assert log_group.inputs["retentionInDays"] == 30, log_group.urn


def test_the_default_security_group_is_emptied():
    run = network("dev")
    default = run.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert not default.inputs.get("ingress") and not default.inputs.get("egress"), default.urn


def test_image_layers_bypass_the_nat_through_an_s3_gateway_endpoint():
    run = network("dev")
    endpoint = run.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    private_tables = {t.id for t in run.of_type(ROUTE_TABLE) if "-private-" in t.name}
    assert endpoint.inputs["serviceName"] == "com.amazonaws.us-east-1.s3", endpoint.urn
    assert set(endpoint.inputs["routeTableIds"]) == private_tables, endpoint.urn


def test_too_few_zones_in_the_region_is_an_error():
    network_settings = settings("prod", "network", NetworkSettings)
    with pytest.raises(ValueError, match="region offers 2 zones, 3 wanted"):
        build(
            lambda: Network(
                "shop-test",
                NetworkArgs(network_settings, ZONES[:2], region="us-east-1", tags=TAGS),
            )
        )
