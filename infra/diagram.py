"""The architecture diagram, drawn from the resources an offline run registers.

Boxes are the program's components; solid arrows are the traffic the security-group rules
admit (with the port); dotted arrows are other references between components (a host group
reading a secret, pulling from the registry). Nothing here is drawn by hand, so the picture
cannot drift from the program: ``python -m infra.snapshot --update`` regenerates it.
"""

import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from infra import offline

INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
NETWORK = "shopstack:network:Network"
FIREWALL = "shopstack:network:Firewall"
MONITORING = "shopstack:monitoring:Monitoring"
INTERNET = "internet"
OUTSIDE = "outside"

LABELS = {
    "shopstack:compute:HostGroup": "Host group",
    "shopstack:loadbalancer:LoadBalancer": "Load balancer (ALB)",
    "shopstack:database:Database": "PostgreSQL (RDS)",
    "shopstack:database:LoginRotation": "Login rotation (Lambda)",
    "shopstack:cache:Cache": "Redis (ElastiCache)",
    "shopstack:queue:Broker": "RabbitMQ (Amazon MQ)",
    "shopstack:registry:Registry": "Image registry (ECR)",
    "shopstack:secrets:Secrets": "Secrets Manager",
    "shopstack:access:TransferBucket": "SSM transfer bucket (S3)",
    "shopstack:compute:AppIdentity": "The shop's IAM role",
    "shopstack:access:BundleBucket": "Playbook bundles (S3)",
    "shopstack:monitoring:ManagedPrometheus": "Managed Prometheus (AMP)",
    "shopstack:monitoring:Monitoring": "CloudWatch alarms, dashboard, SNS",
}


def _strings(value: Any) -> Iterator[str]:
    """Every string in ``value``, looking inside JSON documents (IAM policies) too."""
    if isinstance(value, str):
        yield value
        if value[:1] in "{[":
            try:
                document = json.loads(value)
            except ValueError:
                return
            yield from _strings(document)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _node(component: offline.RegisteredResource) -> str:
    kind = component.type.split(":")[-1].lower()
    return f"{kind}_{component.name.replace('-', '_')}"


def render(run: offline.StackRun) -> str:
    """A Mermaid flowchart of ``run``."""
    by_urn = {r.urn: r for r in run.resources}
    components = [r for r in run.resources if not r.custom and r.type.startswith("shopstack:")]
    owner = {r.urn: by_urn[r.parent] for r in run.resources if r.custom and r.parent in by_urn}
    # What each physical id or ARN belongs to, to follow references between resources.
    referent: dict[str, offline.RegisteredResource] = {}
    for resource in run.resources:
        if resource.custom:
            referent[resource.id] = resource
            if isinstance(resource.state.get("arn"), str):
                referent[resource.state["arn"]] = resource

    # A security group stands for the component whose resources sit behind it.
    group_user: dict[str, offline.RegisteredResource] = {}
    for resource in run.resources:
        if not resource.custom or resource.type in (INGRESS_RULE, EGRESS_RULE):
            continue
        for value in _strings(resource.inputs):
            target = referent.get(value)
            if target is not None and target.type == SECURITY_GROUP:
                group_user[target.id] = owner[resource.urn]

    traffic: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rule in run.of_type(INGRESS_RULE):
        target = group_user.get(rule.inputs["securityGroupId"])
        source_group = rule.inputs.get("referencedSecurityGroupId")
        source = _node(group_user[source_group]) if source_group else INTERNET
        if target is not None:
            traffic[(source, _node(target))].add(f"{int(rule.inputs['fromPort'])}")
    for rule in run.of_type(EGRESS_RULE):
        source = group_user.get(rule.inputs["securityGroupId"])
        if source is not None and rule.inputs.get("cidrIpv4"):
            traffic[(_node(source), OUTSIDE)].add(f"{int(rule.inputs['fromPort'])}")

    uses: set[tuple[str, str]] = set()
    for resource in run.resources:
        source = owner.get(resource.urn)
        if source is None or source.type in (MONITORING, FIREWALL):
            continue
        for value in _strings(resource.inputs):
            target = referent.get(value)
            target_owner = owner.get(target.urn) if target else None
            if target_owner is None or target_owner.type in (NETWORK, FIREWALL):
                continue
            pair = (_node(source), _node(target_owner))
            if pair[0] != pair[1] and pair not in traffic and pair[::-1] not in traffic:
                uses.add(pair)

    network = next(c for c in components if c.type == NETWORK)
    in_vpc = {node for pair in traffic for node in pair} - {INTERNET, OUTSIDE}
    counts = defaultdict(int)
    for resource in run.resources:
        if resource.urn in owner:
            counts[owner[resource.urn].urn] += 1

    def box(component: offline.RegisteredResource) -> str:
        label = LABELS.get(component.type, component.type)
        return f'{_node(component)}["{label}<br/>{component.name} · {counts[component.urn]} resources"]'

    settings = run.config["shopstack:network"]
    lines = [
        "flowchart LR",
        f'    {INTERNET}(("Shoppers<br/>(internet)"))',
        f'    {OUTSIDE}(("Debian mirrors,<br/>AWS APIs"))',
        f'    subgraph vpc["VPC {settings["cidr"]} · {settings["zones"]} zones · '
        f'{counts[network.urn]} network resources"]',
    ]
    inside = [c for c in components if _node(c) in in_vpc]
    outside = [c for c in components if c not in inside and c.type not in (NETWORK, FIREWALL)]
    lines += [f"        {box(c)}" for c in inside]
    lines += ["    end", '    subgraph regional["Regional services"]']
    lines += [f"        {box(c)}" for c in outside]
    lines.append("    end")
    for (source, target), ports in sorted(traffic.items()):
        lines.append(f'    {source} -- "{", ".join(sorted(ports, key=int))}" --> {target}')
    for source, target in sorted(uses):
        lines.append(f"    {source} -.-> {target}")
    return "\n".join(lines) + "\n"


def render_page(run: offline.StackRun) -> str:
    return (
        "# shopstack on AWS: architecture\n\n"
        "Generated by `python -m infra.snapshot --update` from the resources the program\n"
        f"registers for the `{run.stack}` stack; dev and staging have the same shape with fewer\n"
        "zones, NAT gateways and nodes (see `infra/snapshots/`). Solid arrows are the traffic the\n"
        "security groups admit, labelled with ports; dotted arrows are other references (reading\n"
        "secrets, pulling the image). Every alarm notifies the SNS topic in the monitoring box.\n\n"
        "```mermaid\n" + render(run) + "```\n"
    )
