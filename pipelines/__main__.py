"""python -m pipelines check|build|preview|deploy|bundle|verify|dora|run|converge|restore-drill

Every step prints its result and duration; ``run`` chains check -> build -> deploy -> verify -> dora
against a target (the lab by default) and stops at the first failure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from pipelines.runner import Step, report, run_steps


def _steps(args: argparse.Namespace) -> list[Step]:
    from pipelines import build, bundle, check, converge, deploy, dora, preview, restore, verify

    def check_step() -> Step:
        return Step("check", lambda: check.check(args.app_tests, args.strict_audit,
                                                 getattr(args, "static_only", False)))

    def build_step(push: str | None) -> Step:
        return Step("build", lambda: build.build(push))

    def deploy_step() -> Step:
        return Step(f"deploy to {args.target}", lambda: deploy.deploy(args.target, args.release))

    def verify_step() -> Step:
        return Step(f"verify {args.target}", lambda: verify.verify(args.target, args.seconds, args.connections))

    def dora_step() -> Step:
        return Step("dora", lambda: dora.main(args.dora_targets))

    commands: dict[str, Callable[[], list[Step]]] = {
        "check": lambda: [check_step()],
        "build": lambda: [build_step(args.push)],
        "preview": lambda: [
            Step(
                f"preview {args.stack}",
                lambda: preview.preview(
                    args.stack, args.base, Path(args.policy_pack) if args.policy_pack else None, args.apply
                ),
            )
        ],
        "deploy": lambda: [deploy_step()],
        "bundle": lambda: [Step(f"bundle for {args.stack}", lambda: bundle.bundle(args.stack, args.release))],
        "verify": lambda: [verify_step()],
        "dora": lambda: [dora_step()],
        "converge": lambda: [Step("converge the lab", converge.converge)],
        "restore-drill": lambda: [
            Step(
                f"restore drill on {args.stack}",
                lambda: restore.restore_drill(args.stack, args.restore_from, args.through_web_host, args.keep),
            )
        ],
        "run": lambda: (
            ([] if args.skip_check else [check_step()])
            + [build_step(args.target), deploy_step(), verify_step(), dora_step()]
            + ([Step("publish the DORA metrics", lambda: dora.publish(args.target))] if args.target == "lab" else [])
        ),
    }
    return commands[args.command]()


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m pipelines", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = root.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="static checks, audit and the fast tests; reports in build/check/")
    check.add_argument("--static-only", action="store_true",
                       help="the static checks alone (linters, type checks, bandit): no tests, no audit")
    build = commands.add_parser("build", help="the image, tagged with the commit, and its SBOM")
    build.add_argument("--push", metavar="TARGET", help="lab, a stack (its ECR repository) or a repository")
    preview = commands.add_parser("preview", help="the stack's infrastructure change, policy pack applied")
    preview.add_argument("--stack", required=True, choices=("dev", "staging", "prod"))
    preview.add_argument("--base", help="git revision whose snapshot to compare with (default: the working tree's)")
    preview.add_argument("--policy-pack", default="infra/policy", help="refused when empty or missing")
    preview.add_argument("--apply", action="store_true", help="then pulumi up (needs the CLI and credentials)")
    deploy = commands.add_parser("deploy", help="roll the release out, smoke-test it, roll back on failure")
    bundle_parser = commands.add_parser("bundle", help="publish the playbook bundle new AWS hosts configure from")
    bundle_parser.add_argument("--stack", required=True, choices=("lab", "dev", "staging", "prod"))
    bundle_parser.add_argument("--release", required=True, help="the image tag the bundle's hosts start")
    verify = commands.add_parser("verify", help="bounded load through the load balancer, gated; capacity report")
    dora = commands.add_parser("dora", help="the four DORA metrics from the release history")
    dora.add_argument("--target", dest="dora_targets", action="append", help="default: every target recorded")
    drill = commands.add_parser("restore-drill", help="restore the stack's database into a copy: check, RPO, RTO")
    drill.add_argument("--stack", required=True, choices=("dev", "staging", "prod"))
    drill.add_argument(
        "--from",
        dest="restore_from",
        choices=("point-in-time", "snapshot"),
        default="point-in-time",
        help="the latest restorable time (default) or the latest automated snapshot",
    )
    drill.add_argument(
        "--through-web-host",
        action="store_true",
        help="reach the copy through a Session Manager port forward via a web host",
    )
    drill.add_argument("--keep", action="store_true", help="leave the copy running (delete it yourself)")
    commands.add_parser("converge", help="the lab serving this tree: build, push, site.yml (skipped when current)")
    run = commands.add_parser("run", help="check -> build -> deploy -> verify -> dora")
    run.add_argument("--skip-check", action="store_true")
    for sub in (check, run):
        sub.add_argument("--app-tests", action="store_true", help="also run tests/app (slow)")
        sub.add_argument("--strict-audit", action="store_true", help="fail when a locked package cannot be audited")
    for sub in (deploy, verify, run):
        sub.add_argument("--target", default="lab", help="lab (default) or dev, staging, prod")
    for sub in (deploy, run):
        sub.add_argument("--release", help="image tag to deploy (default: this tree's)")
    for sub in (verify, run):
        sub.add_argument("--seconds", type=int, default=5, help="load per route")
        sub.add_argument("--connections", type=int, default=8)
    run.set_defaults(dora_targets=None)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    steps = _steps(args)
    return report(steps, run_steps(steps))


if __name__ == "__main__":
    sys.exit(main())
