import pulumi

from infra.components.load_balancer import LoadBalancer, LoadBalancerArgs
from infra.config import LoadBalancerSettings
from tests.infra.support import SUBNETS, TAGS, build, settings

LISTENER = "aws:lb/listener:Listener"
CERTIFICATE = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"
ZONE = "Z0123456789SHOP"


def load_balancer(**changes):
    lb_settings = settings("prod", "loadBalancer", LoadBalancerSettings, **changes)

    def program():
        lb = LoadBalancer(
            "shop-test-lb",
            LoadBalancerArgs(lb_settings, vpc_id="vpc-test", subnet_ids=SUBNETS, security_group_id="sg-alb", tags=TAGS),
        )
        return pulumi.Output.all(lb.urn, lb.url)

    return build(program)


def test_internet_facing_in_the_public_subnets():
    balancer = load_balancer().one("aws:lb/loadBalancer:LoadBalancer")
    assert balancer.inputs["internal"] is False, balancer.urn
    assert balancer.inputs["subnets"] == SUBNETS, balancer.urn
    assert balancer.inputs["dropInvalidHeaderFields"] is True, balancer.urn


def test_health_check_is_readyz_through_nginx_on_port_80():
    group = load_balancer().one("aws:lb/targetGroup:TargetGroup")
    assert group.inputs["port"] == 80 and group.inputs["protocol"] == "HTTP", group.urn
    assert group.inputs["healthCheck"]["path"] == "/readyz", group.urn
    assert group.inputs["healthCheck"]["matcher"] == "200", group.urn


def test_rolling_deploys_drain_hosts_for_the_configured_delay():
    group = load_balancer(deregistration_delay_seconds=45).one("aws:lb/targetGroup:TargetGroup")
    assert group.inputs["deregistrationDelay"] == 45, group.urn


def test_without_a_domain_http_serves_the_shop():
    run = load_balancer(domain_name=None)
    (listener,) = run.of_type(LISTENER)
    assert listener.inputs["port"] == 80, listener.urn
    assert listener.inputs["defaultActions"][0]["type"] == "forward", listener.urn
    assert not run.of_type(CERTIFICATE)
    assert run.outputs["checks"][1].startswith("http://")


def test_with_a_domain_http_only_redirects_to_https():
    run = load_balancer(domain_name="shop.example.com")
    http = next(listener for listener in run.of_type(LISTENER) if listener.inputs["port"] == 80)
    (redirect,) = http.inputs["defaultActions"]
    assert redirect["type"] == "redirect", http.urn
    assert redirect["redirect"]["protocol"] == "HTTPS", http.urn
    assert redirect["redirect"]["statusCode"] == "HTTP_301", http.urn
    assert run.outputs["checks"][1] == "https://shop.example.com"


def test_https_serves_a_certificate_requested_for_the_domain():
    run = load_balancer(domain_name="shop.example.com")
    certificate = run.one(CERTIFICATE)
    assert certificate.inputs["domainName"] == "shop.example.com", certificate.urn
    assert certificate.inputs["validationMethod"] == "DNS", certificate.urn
    https = next(listener for listener in run.of_type(LISTENER) if listener.inputs["port"] == 443)
    assert https.inputs["certificateArn"] == certificate.state["arn"], https.urn
    assert https.inputs["sslPolicy"].startswith("ELBSecurityPolicy-TLS13"), https.urn


def test_https_waits_for_the_certificate_to_be_validated():
    run = load_balancer(domain_name="shop.example.com")
    validation = run.one(VALIDATION)
    https = next(listener for listener in run.of_type(LISTENER) if listener.inputs["port"] == 443)
    assert https.property_dependencies["certificateArn"] == (validation.urn,), https.urn


def test_with_a_zone_the_validation_record_acm_asks_for_is_written():
    run = load_balancer(domain_name="shop.example.com", hosted_zone_id=ZONE)
    (asked,) = run.one(CERTIFICATE).state["domainValidationOptions"]
    record = run.one(RECORD, "shop-test-lb-certificate-validation")
    assert record.inputs["zoneId"] == ZONE, record.urn
    assert record.inputs["name"] == asked["resourceRecordName"], record.urn
    assert record.inputs["type"] == asked["resourceRecordType"], record.urn
    assert record.inputs["records"] == [asked["resourceRecordValue"]], record.urn
    assert run.one(VALIDATION).inputs["validationRecordFqdns"] == [record.state["fqdn"]]


def test_with_a_zone_the_domain_is_an_alias_of_the_load_balancer():
    run = load_balancer(domain_name="shop.example.com", hosted_zone_id=ZONE)
    balancer, alias = run.one("aws:lb/loadBalancer:LoadBalancer"), run.one(RECORD, "shop-test-lb-alias")
    assert alias.inputs["name"] == "shop.example.com" and alias.inputs["type"] == "A", alias.urn
    (target,) = alias.inputs["aliases"]
    assert (target["name"], target["zoneId"]) == (balancer.state["dnsName"], balancer.state["zoneId"]), alias.urn


def test_without_a_zone_no_dns_record_is_written():
    run = load_balancer(domain_name="shop.example.com")
    assert not run.of_type(RECORD)
    assert not run.one(VALIDATION).inputs.get("validationRecordFqdns")
