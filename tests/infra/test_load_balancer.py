import pulumi

from infra.components.load_balancer import LoadBalancer, LoadBalancerArgs
from infra.config import LoadBalancerSettings
from tests.infra.support import SUBNETS, TAGS, build, settings

LISTENER = "aws:lb/listener:Listener"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/shop"


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


def test_without_a_certificate_http_serves_the_shop():
    run = load_balancer(certificate_arn=None)
    (listener,) = run.of_type(LISTENER)
    assert listener.inputs["port"] == 80, listener.urn
    assert listener.inputs["defaultActions"][0]["type"] == "forward", listener.urn
    assert run.outputs["checks"][1].startswith("http://")


def test_with_a_certificate_http_redirects_to_https():
    run = load_balancer(certificate_arn=CERTIFICATE, domain_name="shop.example.com")
    listeners = {int(listener.inputs["port"]): listener for listener in run.of_type(LISTENER)}
    redirect = listeners[80].inputs["defaultActions"][0]
    assert redirect["type"] == "redirect", listeners[80].urn
    assert redirect["redirect"]["protocol"] == "HTTPS", listeners[80].urn
    assert redirect["redirect"]["statusCode"] == "HTTP_301", listeners[80].urn
    https = listeners[443]
    assert https.inputs["certificateArn"] == CERTIFICATE, https.urn
    assert https.inputs["sslPolicy"].startswith("ELBSecurityPolicy-TLS13"), https.urn
    assert run.outputs["checks"][1] == "https://shop.example.com"
