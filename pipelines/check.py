"""The check step: every static check and the fast tests, each reported, all run even when one fails.

Reports land in ``build/check/``: ``junit.xml`` and ``coverage.xml`` (branch coverage) from the
tests, ``bandit.json``, ``pip-audit.json`` and the audit summary, and each check's log in ``logs/``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipelines import audit
from pipelines.runner import ROOT, Step, StepFailed, run_steps, say, shown, table

BIN = Path(sys.executable).parent
REPORTS = ROOT / "build" / "check"
LOGS = REPORTS / "logs"
MONITORING = ROOT / "monitoring"
# Findings reviewed and accepted in code this step does not own (each is explained in README.md).
BANDIT_BASELINE = ROOT / "pipelines" / "bandit-baseline.json"
# mypy --strict errors infra/ had when the check began; a file may only go down from its count.
MYPY_INFRA_BASELINE = ROOT / "pipelines" / "mypy-infra-baseline.json"
APP = ROOT / "app"
PYTHON_TREES = ["app", "tests", "infra", "pipelines", "lab", "monitoring"]
FAST_TESTS = ["tests/pipelines", "tests/infra", "tests/policy"]
MYPY_ERROR = re.compile(r"^(?P<file>[^:]+):\d+: error: ")


@dataclass(frozen=True)
class Check:
    name: str
    command: Callable[[], list[str]]
    cwd: Path = ROOT
    # Why the check does not apply here (e.g. monitoring/ absent), or None when it does.
    skip: Callable[[], str | None] = lambda: None
    # Reads the finished command's output and returns the summary (raises StepFailed to fail).
    verdict: Callable[[subprocess.CompletedProcess[str]], str] | None = None
    env: dict[str, str] = field(default_factory=dict)


def _tool(name: str) -> str:
    return str(BIN / name)


def _run(check: Check) -> str:
    reason = check.skip()
    if reason:
        return f"skipped: {reason}"
    LOGS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", **check.env}
    completed = subprocess.run(check.command(), cwd=check.cwd, env=env, capture_output=True, text=True, check=False)
    log = LOGS / f"{check.name}.log"
    log.write_text(completed.stdout + completed.stderr)
    if check.verdict is not None:
        return check.verdict(completed)
    if completed.returncode != 0:
        tail = (completed.stdout + completed.stderr).strip().splitlines()[-25:]
        say("\n".join(f"    | {line}" for line in tail))
        raise StepFailed(f"exit {completed.returncode}; log: {shown(log)}")
    last = next((line for line in reversed(completed.stdout.strip().splitlines()) if line.strip()), "passed")
    return last.strip()[:160]


def _mypy_infra(completed: subprocess.CompletedProcess[str]) -> str:
    counts: dict[str, int] = {}
    for line in completed.stdout.splitlines():
        match = MYPY_ERROR.match(line)
        if match:
            counts[match["file"]] = counts.get(match["file"], 0) + 1
    baseline: dict[str, int] = json.loads(MYPY_INFRA_BASELINE.read_text())
    grown = {f: n for f, n in counts.items() if n > baseline.get(f, 0)}
    total, allowed = sum(counts.values()), sum(baseline.values())
    if grown:
        files = ", ".join(f"{f} ({baseline.get(f, 0)} -> {n})" for f, n in grown.items())
        raise StepFailed(f"new strict errors in {files}; log: {shown(LOGS / 'mypy-infra.log')}")
    return f"{total} strict errors (baseline {allowed}); none new" + (
        f"; {allowed - total} fixed: lower {shown(MYPY_INFRA_BASELINE)}" if total < allowed else "")


def _app_services() -> list[str]:
    """The shop's services, its logic without Flask: each module's service.py, pricing, and the
    packages split along the shop's words (payments, logistics) but for their views."""
    shop = APP / "shop"
    split = (p for package in ("payments", "logistics") for p in (shop / package).glob("*.py") if p.name != "views.py")
    return sorted(str(p.relative_to(APP)) for p in {*shop.glob("*/service.py"), shop / "cart" / "pricing.py", *split})


def _no_monitoring() -> str | None:
    return None if MONITORING.is_dir() else "monitoring/ does not exist yet"


def _files(pattern: str) -> list[str]:
    return sorted(str(p) for p in MONITORING.glob(pattern))


def _pytest_command(paths: list[str], coverage: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths,
            f"--junitxml={REPORTS / 'junit.xml'}", *[f"--cov={package}" for package in coverage], "--cov-branch",
            f"--cov-report=xml:{REPORTS / 'coverage.xml'}", "--cov-report=term:skip-covered"]


def checks(app_tests: bool) -> list[Check]:
    tests = FAST_TESTS + (["tests/app"] if app_tests else [])
    coverage = ["pipelines", "infra"] + (["shop"] if app_tests else [])
    return [
        Check("ruff", lambda: [_tool("ruff"), "check", *PYTHON_TREES]),
        Check("mypy-pipelines", lambda: [_tool("mypy"), "--strict", "--follow-imports=silent",
                                         "--exclude", "^pipelines/bench", "pipelines"]),
        Check("mypy-app-services", lambda: [_tool("mypy"), "--strict", "--follow-imports=silent",
                                            "--config-file", str(ROOT / "pyproject.toml"), *_app_services()],
              cwd=APP),
        Check("mypy-infra", lambda: [_tool("mypy"), "--strict", "--follow-imports=silent", "infra"],
              verdict=_mypy_infra),
        Check("ansible-lint", lambda: [_tool("ansible-lint"), "--profile", "production", "site.yml", "deploy.yml",
                                       "self-converge.yml", "rollback.yml", "roles"], cwd=ROOT / "playbooks"),
        Check("hadolint", lambda: [_tool("hadolint"), "Dockerfile",
                                   *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("lab/images/*/Dockerfile")),
                                   *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("tests/**/*.Dockerfile"))]),
        Check("workflow-schema", lambda: [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                                          *sorted(str(p) for p in ROOT.glob(".github/workflows/*.yml"))]),
        Check("zizmor", lambda: [_tool("zizmor"), "--offline", "--no-progress", ".github/workflows"]),
        Check("promtool-rules", lambda: ["promtool", "check", "rules", *_files("rules/**/*.yml")],
              skip=_no_monitoring),
        Check("promtool-tests", lambda: ["promtool", "test", "rules", *_files("tests/**/*.yml")],
              skip=_no_monitoring),
        Check("amtool", lambda: ["amtool", "check-config", *_files("alertmanager/*.yml")], skip=_no_monitoring),
        Check("bandit", lambda: [_tool("bandit"), "-q", "-r", "app/shop", "infra", "pipelines", "lab",
                                 "--severity-level", "medium", "--baseline", str(BANDIT_BASELINE),
                                 "--format", "json", "--output", str(REPORTS / "bandit.json")]),
        Check("tests", lambda: _pytest_command(tests, coverage)),
    ]


def check(app_tests: bool = False, strict_audit: bool = False, static_only: bool = False) -> str:
    REPORTS.mkdir(parents=True, exist_ok=True)
    chosen = [c for c in checks(app_tests) if not (static_only and c.name == "tests")]
    steps = [Step(c.name, lambda c=c: _run(c)) for c in chosen]  # type: ignore[misc]
    if not static_only:
        steps.append(Step("dependency-audit", lambda: audit.run(strict=strict_audit)))
    results = run_steps(steps, keep_going=True)
    say(table(results))
    failed = [r.name for r in results if not r.ok]
    if failed:
        raise StepFailed(f"{len(failed)} of {len(results)} checks failed: {', '.join(failed)}")
    return f"{len(results)} checks passed (reports in {shown(REPORTS)})"
