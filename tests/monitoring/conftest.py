"""Fixtures for monitoring/'s checks: its rule files, its alerts, and the Prometheus tools."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
RULE_FILES = sorted((MONITORING / "rules").glob("*.yml"))
PROMTOOL_TESTS = sorted((MONITORING / "tests").glob("*.test.yml"))


def rules() -> list[dict]:
    return [rule for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"]]


def alerting_rules() -> list[dict]:
    return [rule for rule in rules() if "alert" in rule]


def alert_names() -> list[str]:
    return sorted({rule["alert"] for rule in alerting_rules()})


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: `make test-monitoring` installs it "
                    "(pipelines/monitoring-tools.sh).", pytrace=False)
    return path


def run(tool: str, *args: str, cwd: Path = MONITORING) -> subprocess.CompletedProcess:
    return subprocess.run([_tool(tool), *args], cwd=cwd, capture_output=True, text=True, timeout=120)
