"""Run the Pulumi program offline, for tests and review: Pulumi's mocks stand in for AWS.

``run("prod")`` executes ``infra/__main__.py`` exactly as ``pulumi up`` would, with the config
from ``Pulumi.prod.yaml``, and returns every resource it registered (type, name, parent, inputs)
and the stack outputs. Each run happens in a fresh context, so stacks can run one after another
in a single process. The snapshots, the architecture diagram, the cost estimate and the policy
checks are all computed from such runs.
"""

import asyncio
import contextvars
import hashlib
import importlib
import json
import re
import runpy
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime.stack import run_pulumi_func

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "infra"
PROJECT = "shopstack"
STACKS = ("dev", "staging", "prod")
ACCOUNT = "123456789012"

# What an engineer sets with ``pulumi config set --secret``; recognisable so snapshots redact them.
OFFLINE_SECRETS = {
    "shopstack:cacheAuthToken": "offline-secret-cache-auth-token",
    "shopstack:brokerPassword": "offline-secret-broker-password",
    "shopstack:appSecretKey": "offline-secret-app-secret-key",
    "shopstack:paymentWebhookSecret": "offline-secret-payment-webhook",
}
REDACTED = "[secret]"

DEBIAN_IMAGE = {
    "id": "ami-0deb12b00c5e1f2a3",
    "name": "debian-12-amd64-20250101-1980",
    "architecture": "x86_64",
    "ownerId": "136693071363",
    "rootDeviceName": "/dev/xvda",
}


# The provider modules the program uses.
PROVIDER_MODULES = (
    "acm", "amp", "autoscaling", "cloudwatch", "ec2", "ecr", "elasticache", "iam", "lambda_", "lb", "mq", "rds",
    "route53", "s3", "secretsmanager", "sns", "vpc",
)  # fmt: skip


def load_provider_modules() -> None:
    """Import the provider's modules once, quietly.

    pulumi_aws warns on import about resources it deprecates (none of which the shop uses);
    under warnings-as-errors, as in the test suite, that import would fail.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for module in PROVIDER_MODULES:
            # The provider loads its modules lazily, on first attribute access.
            hasattr(importlib.import_module(f"pulumi_aws.{module}"), "load_now")


@dataclass(frozen=True)
class RegisteredResource:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    # The physical id the mocked cloud assigned; other resources' inputs refer to it.
    id: str
    # What the program passed, with engine (camelCase) property names, as a policy sees them.
    inputs: dict[str, Any]
    # The inputs plus what the mocked cloud returned (ids, ARNs, endpoints).
    state: dict[str, Any]
    dependencies: tuple[str, ...] = ()
    # Input property -> the URNs its value came from (how a policy relates resources in a preview).
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Resource options the engine (and the policy pack) sees.
    protect: bool = False
    retain_on_delete: bool = False
    # Input properties the engine leaves as they are in the cloud (something else owns their changes).
    ignore_changes: tuple[str, ...] = ()
    # The URNs or former names (aliases) this resource was known by.
    aliases: tuple[str, ...] = ()


@dataclass
class StackRun:
    stack: str
    resources: list[RegisteredResource]
    outputs: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    # The provider functions the program called (AMI and zone lookups).
    calls: list[pulumi.runtime.MockCallArgs] = field(default_factory=list)

    def of_type(self, type_token: str) -> list[RegisteredResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> RegisteredResource:
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(found) != 1:
            raise LookupError(f"{len(found)} resources of type {type_token} named {name}")
        return found[0]

    def children(self, parent_urn: str) -> list[RegisteredResource]:
        return [r for r in self.resources if r.parent == parent_urn]


def stack_config(stack: str) -> dict[str, Any]:
    """The ``config:`` block of ``Pulumi.<stack>.yaml`` plus the offline secrets."""
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    return {**document["config"], **OFFLINE_SECRETS}


class ShopMocks(pulumi.runtime.Mocks):
    """Answers like AWS would, deterministically: ids and ARNs are derived from names."""

    def __init__(self, region: str):
        self.region = region
        self.calls: list[pulumi.runtime.MockCallArgs] = []

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append(args)
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{self.region}{letter}" for letter in "abc"]
            return {
                "names": names,
                "zoneIds": [f"use1-az{n}" for n in (1, 2, 4)],
                "id": self.region,
            }
        if args.token == "aws:ec2/getAmi:getAmi":
            return dict(DEBIAN_IMAGE)
        if args.token == "aws:index/getRegion:getRegion":
            return {"id": self.region, "region": self.region, "name": self.region}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/offline",
                "id": ACCOUNT,
            }
        raise NotImplementedError(f"offline run has no answer for the call {args.token}")

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if not args.custom:
            return "", {}
        module, type_name = args.typ.split(":")[1].split("/")[0], args.typ.split(":")[-1]
        inputs = dict(args.inputs)
        # Where the program leaves the physical name to Pulumi (or gives a prefix), the engine
        # adds a random suffix; offline it is derived from the logical name, so runs repeat.
        suffix = hashlib.sha256(args.name.encode()).hexdigest()[:7]
        name = f"{inputs['namePrefix']}{suffix}" if inputs.get("namePrefix") else inputs.get("name") or args.name
        physical_id = f"{type_name.lower()}-{args.name}"
        region, account = self.region, ACCOUNT
        secrets_arn = f"arn:aws:secretsmanager:{region}:{account}:secret"
        state: dict[str, Any] = {
            **inputs,
            "name": name,
            "arn": f"arn:aws:{module}:{region}:{account}:{type_name.lower()}/{name}",
        }
        if args.typ == "aws:s3/bucket:Bucket":
            bucket = inputs.get("bucket") or args.name
            state.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}")
        elif args.typ.startswith("aws:iam/"):
            kind = re.sub(r"(?<!^)(?=[A-Z])", "-", type_name).lower()  # InstanceProfile -> instance-profile
            state["arn"] = f"arn:aws:iam::{account}:{kind}/{name}"
        elif args.typ == "aws:lb/loadBalancer:LoadBalancer":
            state.update(
                dnsName=f"{name}-1234567890.{region}.elb.amazonaws.com",
                arnSuffix=f"app/{name}/0123456789abcdef",
                zoneId="Z35SXDOTRQ7X7K",
            )
        elif args.typ == "aws:lb/targetGroup:TargetGroup":
            state["arnSuffix"] = f"targetgroup/{name}/0123456789abcdef"
        elif args.typ == "aws:rds/instance:Instance":
            state.update(
                address=f"{name}.c0ffee000000.{region}.rds.amazonaws.com",
                port=5432,
                identifier=inputs.get("identifier") or name,
                masterUserSecrets=[
                    {
                        "secretArn": f"{secrets_arn}:rds!db-{name}",
                        "secretStatus": "active",
                    }
                ],
            )
        elif args.typ == "aws:elasticache/replicationGroup:ReplicationGroup":
            state["primaryEndpointAddress"] = f"master.{name}.c0ffee.use1.cache.amazonaws.com"
        elif args.typ == "aws:mq/broker:Broker":
            physical_id = f"b-{hashlib.sha256(args.name.encode()).hexdigest()[:8]}-0000-4000-8000-000000000000"
            state["brokerName"] = inputs.get("brokerName") or f"{args.name}-{suffix}"
            host = f"{physical_id}.mq.{region}.on.aws"
            state["instances"] = [{"endpoints": [f"amqps://{host}:5671"], "consoleUrl": f"https://{host}"}]
        elif args.typ == "random:index/randomId:RandomId":
            state["hex"] = hashlib.sha256(args.name.encode()).hexdigest()[: 2 * int(inputs["byteLength"])]
        elif args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = (hashlib.sha256(args.name.encode()).hexdigest() * 4)[: int(inputs["length"])]
        elif args.typ == "aws:acm/certificate:Certificate":
            domain = inputs["domainName"]
            state["arn"] = f"arn:aws:acm:{region}:{account}:certificate/{suffix}"
            state["domainValidationOptions"] = [
                {
                    "domainName": domain,
                    "resourceRecordName": f"_{suffix}.{domain}.",
                    "resourceRecordType": "CNAME",
                    "resourceRecordValue": f"_{suffix}.acm-validations.aws.",
                }
            ]
        elif args.typ == "aws:route53/record:Record":
            state["fqdn"] = str(inputs["name"]).rstrip(".")
        elif args.typ == "aws:ecr/repository:Repository":
            state["repositoryUrl"] = f"{account}.dkr.ecr.{region}.amazonaws.com/{name}"
        elif args.typ == "aws:sns/topic:Topic":
            state["arn"] = f"arn:aws:sns:{region}:{account}:{name}"
        elif args.typ == "aws:secretsmanager/secret:Secret":
            state["arn"] = f"{secrets_arn}:{name}-AbCdEf"
        elif args.typ == "aws:amp/workspace:Workspace":
            physical_id = f"ws-{suffix}"
            state["arn"] = f"arn:aws:aps:{region}:{account}:workspace/{physical_id}"
            state["prometheusEndpoint"] = f"https://aps-workspaces.{region}.amazonaws.com/workspaces/{physical_id}/"
        elif args.typ == "aws:ec2/launchTemplate:LaunchTemplate":
            state["latestVersion"] = 1
        return physical_id, state


class RecordingMonitor(mocks.MockMonitor):
    """The mock monitor, remembering each registration's parent, inputs and dependencies."""

    def __init__(self, mocks_: pulumi.runtime.Mocks):
        super().__init__(mocks_)
        self.registrations: list[RegisteredResource] = []

    def RegisterResource(self, request):  # noqa: N802 - the gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            registered = self.resources.get(response.urn)
            self.registrations.append(
                RegisteredResource(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    custom=request.custom,
                    id=registered.id if registered else "",
                    inputs=rpc.deserialize_properties(request.object),
                    state=dict(registered.state) if registered else {},
                    dependencies=tuple(request.dependencies),
                    property_dependencies={key: tuple(deps.urns) for key, deps in request.propertyDependencies.items()},
                    protect=bool(request.protect),
                    retain_on_delete=bool(request.retainOnDelete),
                    ignore_changes=tuple(request.ignoreChanges),
                    # An alias by URN, or by the name it had (the parts that changed).
                    aliases=tuple(alias.urn or alias.spec.name for alias in request.aliases),
                )
            )
        return response


def run(stack: str, config: Mapping[str, Any] | None = None) -> StackRun:
    """Run the program for ``stack`` with ``config`` (default: the stack file's) under mocks."""
    values = dict(stack_config(stack) if config is None else config)
    return run_program(lambda: runpy.run_path(str(PROGRAM), run_name="__main__"), stack, values)


def run_program(program: Callable[[], Any], stack: str = "test", config: Mapping[str, Any] | None = None) -> StackRun:
    """Run ``program`` (any function registering resources) under mocks, in a fresh context."""
    values = dict(config or {"aws:region": "us-east-1"})
    return contextvars.Context().run(_run, program, stack, values)


def _run(program: Callable[[], Any], stack: str, config: dict[str, Any]) -> StackRun:
    region = config["aws:region"]
    monitor = RecordingMonitor(ShopMocks(region))
    # The SDK calls the mock monitor from executor threads, each of which needs an event loop;
    # giving them ours to close afterwards keeps the run from leaking loops and sockets.
    thread_loops: list[asyncio.AbstractEventLoop] = []

    def give_thread_a_loop() -> None:
        thread_loops.append(asyncio.new_event_loop())
        asyncio.set_event_loop(thread_loops[-1])

    executor = ThreadPoolExecutor(initializer=give_thread_a_loop)
    loop = asyncio.new_event_loop()
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)
    try:
        pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
        pulumi.runtime.set_all_config(
            {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()},
            [key for key in config if key in OFFLINE_SECRETS],
        )
        loop.run_until_complete(run_pulumi_func(program))
        root = settings.get_root_resource()
        exported = root.outputs if root is not None else {}
        outputs = loop.run_until_complete(pulumi.Output.from_input(exported).future())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
        executor.shutdown(wait=True)
        for thread_loop in thread_loops:
            thread_loop.close()
    # Registration order depends on how asyncio interleaves the program; URN order does not.
    resources = sorted(monitor.registrations, key=lambda resource: resource.urn)
    return StackRun(stack, resources, dict(outputs or {}), config, monitor.mocks.calls)


def redact(value: Any) -> Any:
    """``value`` with every offline secret replaced by ``[secret]``."""
    if isinstance(value, str):
        for secret in OFFLINE_SECRETS.values():
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, Mapping):
        # Pulumi's wire form of a secret: {<signature key>: <secret signature>, "value": ...}.
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return REDACTED
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value
