"""The GitHub workflows: valid against GitHub's schema, zizmor-clean, thin, pinned, least privilege."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.runner import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def _load(path: Path) -> dict:
    # YAML 1.1 reads the key `on` as True.
    document = yaml.safe_load(path.read_text())
    document["on"] = document.pop(True, document.get("on"))
    return document


def _steps(path: Path):
    for job in _load(path)["jobs"].values():
        yield from job.get("steps", [])


def test_there_are_pull_request_main_release_and_deploy_workflows():
    assert {p.stem for p in WORKFLOWS} == {"pull-request", "main", "release", "deploy"}


def test_workflows_match_githubs_schema():
    completed = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                                *map(str, WORKFLOWS)], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_zizmor_finds_nothing():
    completed = subprocess.run([str(BIN / "zizmor"), "--offline", "--no-progress", str(WORKFLOWS[0].parent)],
                               capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_third_party_actions_are_pinned_by_commit(path):
    uses = [step["uses"] for step in _steps(path) if "uses" in step]
    assert all(PINNED.match(ref) for ref in uses), uses


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_permission_at_the_top_and_grants_per_job(path):
    document = _load(path)
    assert document["permissions"] == {}
    assert all("permissions" in job for job in document["jobs"].values())


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_run_steps_only_call_the_pipeline(path):
    commands = [step["run"] for step in _steps(path) if "run" in step]
    assert all(c == "make install" or "python -m pipelines " in c for c in commands), commands


def test_deploys_queue_and_are_never_cancelled():
    job = _load(ROOT / ".github" / "workflows" / "deploy.yml")["jobs"]["deploy"]
    assert job["concurrency"]["cancel-in-progress"] is False and job["environment"] == "${{ inputs.stack }}"


def test_deploys_reach_aws_through_the_oidc_role_only():
    job = _load(ROOT / ".github" / "workflows" / "deploy.yml")["jobs"]["deploy"]
    aws = next(s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    assert job["permissions"]["id-token"] == "write" and set(aws["with"]) == {"role-to-assume", "aws-region"}


def test_prod_deploys_only_from_a_release():
    triggers = {path.stem: _load(path)["on"] for path in WORKFLOWS}
    prod = [p.stem for p in WORKFLOWS if "stack: prod" in p.read_text()]
    assert prod == ["release"] and set(triggers["release"]) == {"release"}
