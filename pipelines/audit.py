"""Audit every package in the lock file for known vulnerabilities, and say what could not be.

pip-audit asks PyPI for each locked release's vulnerabilities (``--vulnerability-service pypi``).
Where PyPI cannot answer for a release (a mirror that serves no per-release JSON answers 404, so
pip-audit skips the package), the project's own JSON still carries the vulnerabilities of its
newest release: a package locked at its newest release is audited from that. Any other package
is reported as not audited; ``strict`` makes that a failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from pipelines.runner import ROOT, StepFailed

LOCK = ROOT / "uv.lock"
REPORTS = ROOT / "build" / "check"
PYPI_PROJECT = "https://pypi.org/pypi/{name}/json"


@dataclass
class Audit:
    locked: dict[str, str]
    vulnerable: dict[str, list[str]] = field(default_factory=dict)
    by_pip_audit: set[str] = field(default_factory=set)
    by_newest_release: set[str] = field(default_factory=set)
    not_audited: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        audited = len(self.by_pip_audit) + len(self.by_newest_release)
        text = (f"{audited} of {len(self.locked)} locked packages audited ({len(self.by_pip_audit)} by pip-audit "
                f"against PyPI, {len(self.by_newest_release)} from PyPI's newest-release data); "
                f"{len(self.vulnerable)} vulnerable")
        if self.not_audited:
            text += (f"; NOT audited: {len(self.not_audited)} (locked behind their newest release, and PyPI's "
                     f"per-release data is unreachable here): {', '.join(sorted(self.not_audited))}")
        return text


def locked_packages(lock: Path = LOCK) -> dict[str, str]:
    """Every package the lock file pins, by name (the project itself excluded)."""
    document = tomllib.loads(lock.read_text())
    return {p["name"]: p["version"] for p in document["package"]
            if "version" in p and not {"editable", "virtual"} & set(p.get("source", {}))}


def _pip_audit(locked: dict[str, str]) -> dict[str, Any]:
    REPORTS.mkdir(parents=True, exist_ok=True)
    requirements = REPORTS / "locked-requirements.txt"
    requirements.write_text("".join(f"{name}=={version}\n" for name, version in sorted(locked.items())))
    report = REPORTS / "pip-audit.json"
    subprocess.run([str(Path(sys.executable).parent / "pip-audit"), "--vulnerability-service", "pypi",
                    "--requirement", str(requirements), "--no-deps", "--disable-pip", "--progress-spinner", "off",
                    "--format", "json", "--output", str(report)], capture_output=True, text=True, check=False)
    if not report.exists():
        raise StepFailed("pip-audit wrote no report")
    return dict(json.loads(report.read_text()))


def _newest_release(name: str) -> tuple[str, list[str]] | None:
    try:
        reply = requests.get(PYPI_PROJECT.format(name=name), timeout=30)
    except requests.RequestException:
        return None
    if reply.status_code != 200:
        return None
    document = reply.json()
    return document["info"]["version"], [v["id"] for v in document.get("vulnerabilities") or []
                                         if not v.get("withdrawn")]


def run(strict: bool = False) -> str:
    locked = locked_packages()
    result = Audit(locked)
    skipped = []
    for dependency in _pip_audit(locked)["dependencies"]:
        if dependency.get("skip_reason"):
            skipped.append(dependency["name"])
            continue
        result.by_pip_audit.add(dependency["name"])
        if dependency.get("vulns"):
            result.vulnerable[dependency["name"]] = [v["id"] for v in dependency["vulns"]]
    with ThreadPoolExecutor(max_workers=8) as pool:
        newest = dict(zip(skipped, pool.map(_newest_release, skipped), strict=True))
    for name, answer in newest.items():
        if answer is None or answer[0] != locked.get(name):
            result.not_audited[name] = "no per-release data" if answer is None else f"newest is {answer[0]}"
            continue
        result.by_newest_release.add(name)
        if answer[1]:
            result.vulnerable[name] = answer[1]
    summary = result.summary()
    (REPORTS / "audit-summary.txt").write_text(summary + "\n")
    if result.vulnerable:
        raise StepFailed("vulnerable: " + "; ".join(f"{n} {locked[n]}: {', '.join(ids)}"
                                                   for n, ids in sorted(result.vulnerable.items())))
    if strict and result.not_audited:
        raise StepFailed(summary)
    return summary
