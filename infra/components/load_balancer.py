"""The shop's front door: an application load balancer in the public subnets.

With a domain configured, the program requests an ACM certificate for it (validated through DNS,
in Route 53 when the zone is given), port 443 serves HTTPS and port 80 only redirects there;
without one (dev), port 80 forwards directly.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.firewall import HTTP, HTTPS
from infra.config import LoadBalancerSettings
from infra.tags import HostRole, resource_tags


@dataclass
class LoadBalancerArgs:
    settings: LoadBalancerSettings
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    tags: Mapping[str, str]


class LoadBalancer(pulumi.ComponentResource):
    dns_name: pulumi.Output[str]
    url: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    # CloudWatch dimensions (``app/<name>/<id>`` and ``targetgroup/<name>/<id>``).
    arn_suffix: pulumi.Output[str]
    target_group_arn_suffix: pulumi.Output[str]

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shopstack:loadbalancer:LoadBalancer", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)

        def tags(resource: str) -> dict[str, str]:
            return resource_tags(args.tags, resource)

        balancer = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            subnets=args.subnet_ids,
            security_groups=[args.security_group_id],
            idle_timeout=settings.idle_timeout_seconds,
            drop_invalid_header_fields=True,
            enable_deletion_protection=settings.deletion_protection,
            tags=tags(f"{name}-alb"),
            opts=child,
        )
        web = aws.lb.TargetGroup(
            f"{name}-web",
            vpc_id=args.vpc_id,
            target_type="instance",
            protocol="HTTP",
            port=HTTP,
            deregistration_delay=settings.deregistration_delay_seconds,
            health_check={
                "path": settings.health_check_path,
                "protocol": "HTTP",
                "port": "traffic-port",
                "matcher": "200",
                "interval": settings.health_check_interval_seconds,
                "timeout": 5,
                "healthy_threshold": settings.healthy_threshold,
                "unhealthy_threshold": settings.unhealthy_threshold,
            },
            tags=resource_tags(args.tags, f"{name}-web", HostRole.WEB),
            opts=child,
        )
        forward = [{"type": "forward", "target_group_arn": web.arn}]

        if settings.domain_name:
            certificate_arn = self._certificate(name, settings, tags)
            aws.lb.Listener(
                f"{name}-https",
                load_balancer_arn=balancer.arn,
                port=HTTPS,
                protocol="HTTPS",
                certificate_arn=certificate_arn,
                ssl_policy=settings.ssl_policy,
                default_actions=forward,
                tags=tags(f"{name}-https"),
                opts=child,
            )
            plain_http_action = [
                {
                    "type": "redirect",
                    "redirect": {
                        "protocol": "HTTPS",
                        "port": str(HTTPS),
                        "status_code": "HTTP_301",
                    },
                }
            ]
            if settings.hosted_zone_id:
                aws.route53.Record(
                    f"{name}-alias",
                    zone_id=settings.hosted_zone_id,
                    name=settings.domain_name,
                    type="A",
                    aliases=[{"name": balancer.dns_name, "zone_id": balancer.zone_id, "evaluate_target_health": True}],
                    opts=child,
                )
        else:
            plain_http_action = forward
        aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=balancer.arn,
            port=HTTP,
            protocol="HTTP",
            default_actions=plain_http_action,
            tags=tags(f"{name}-http"),
            opts=child,
        )

        scheme = "https" if settings.domain_name else "http"
        self.dns_name = balancer.dns_name
        self.url = pulumi.Output.concat(scheme, "://", settings.domain_name or balancer.dns_name)
        self.target_group_arn = web.arn
        self.arn_suffix = balancer.arn_suffix
        self.target_group_arn_suffix = web.arn_suffix
        self.register_outputs({"dns_name": self.dns_name, "url": self.url, "target_group_arn": self.target_group_arn})

    def _certificate(
        self, name: str, settings: LoadBalancerSettings, tags: Callable[[str], dict[str, str]]
    ) -> pulumi.Output[str]:
        """An ACM certificate for the domain; its ARN resolves once ACM has validated it."""
        child = pulumi.ResourceOptions(parent=self)
        certificate = aws.acm.Certificate(
            f"{name}-certificate",
            domain_name=settings.domain_name,
            validation_method="DNS",
            tags=tags(f"{name}-certificate"),
            opts=child,
        )
        record_fqdns: list[pulumi.Input[str]] = []
        if settings.hosted_zone_id:
            # One domain, so one validation record; its name and value come from ACM.
            validation = certificate.domain_validation_options[0]
            record = aws.route53.Record(
                f"{name}-certificate-validation",
                zone_id=settings.hosted_zone_id,
                name=validation.resource_record_name,
                type=validation.resource_record_type,
                records=[validation.resource_record_value],
                ttl=300,
                allow_overwrite=True,
                opts=child,
            )
            record_fqdns.append(record.fqdn)
        # Without a zone, this waits (up to 75 minutes) for someone to create the record ACM asks for.
        validated = aws.acm.CertificateValidation(
            f"{name}-certificate-validation",
            certificate_arn=certificate.arn,
            validation_record_fqdns=record_fqdns,
            opts=child,
        )
        return validated.certificate_arn
