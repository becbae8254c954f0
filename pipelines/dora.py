"""The four DORA metrics from the release history, printed and written for Prometheus.

- deployment frequency: successful deploys per day over the window;
- lead time for changes: median time from a commit to the successful deploy that shipped it;
- change failure rate: failed deploys over all deploys in the window;
- time to restore: median time from a failed deploy's failure to the last good release serving
  again (the automatic rollback, else the next successful deploy).

Only deploys that changed the hosts count; deploying the running release again is not a deploy.
The textfile goes where node_exporter's textfile collector reads it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from pipelines import releases
from pipelines.releases import FAILED, SUCCESS, Marker, parse_time
from pipelines.runner import StepFailed, say, shown

ROOT = releases.ROOT
TEXTFILE = Path(os.environ.get("SHOP_DORA_TEXTFILE", ROOT / "build" / "metrics" / "shop_dora.prom"))
# Where node_exporter's textfile collector reads on Debian (the package's default directory).
NODE_EXPORTER_TEXTFILES = "/var/lib/prometheus/node-exporter"
WINDOW_DAYS = 30
# Metric names, defined once: monitoring/ dashboards and alerts use these.
METRICS = {
    "deployment_frequency": ("shop_dora_deployment_frequency_per_day", "Successful deploys per day over the window."),
    "lead_time": ("shop_dora_lead_time_seconds", "Median time from commit to its successful deploy."),
    "change_failure_rate": ("shop_dora_change_failure_ratio", "Failed deploys over all deploys in the window."),
    "time_to_restore": ("shop_dora_time_to_restore_seconds", "Median time from a failed deploy to service restored."),
    "deployments": ("shop_dora_deployments", "Deploys in the window that changed the hosts."),
    "failures": ("shop_dora_failed_deployments", "Failed deploys in the window."),
}


@dataclass(frozen=True)
class Dora:
    target: str
    window_days: int
    deployments: int
    failures: int
    deployment_frequency: float
    lead_time: float | None
    change_failure_rate: float
    time_to_restore: float | None
    unrestored: int

    def lines(self) -> list[str]:
        return [
            f"DORA for {self.target}, last {self.window_days} days ({self.deployments} deploys, "
            f"{self.failures} failed):",
            f"  deployment frequency   {self.deployment_frequency:.2f} per day",
            f"  lead time for changes  {_duration(self.lead_time)} (median)",
            f"  change failure rate    {self.change_failure_rate * 100:.0f} %",
            f"  time to restore        {_duration(self.time_to_restore)} (median)"
            + (f"; {self.unrestored} not restored yet" if self.unrestored else ""),
        ]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def compute(history: Sequence[Marker], target: str, at: datetime, window_days: int = WINDOW_DAYS) -> Dora:
    since = at - timedelta(days=window_days)
    ordered = sorted((m for m in history if m.target == target and m.changed), key=lambda m: m.finished_time)
    window = [m for m in ordered if since <= m.finished_time <= at]
    successes = [m for m in window if m.result == SUCCESS]
    failures = [m for m in window if m.result == FAILED]
    lead_times = [
        (m.finished_time - parse_time(commit)).total_seconds()
        for m in successes
        for commit in m.change_times
    ]
    restores, unrestored = [], 0
    for failure in failures:
        restored = _restored_at(failure, ordered)
        if restored is None:
            unrestored += 1
        else:
            restores.append((restored - parse_time(failure.failed_at or failure.finished)).total_seconds())
    return Dora(
        target=target,
        window_days=window_days,
        deployments=len(window),
        failures=len(failures),
        deployment_frequency=len(successes) / window_days,
        lead_time=statistics.median(lead_times) if lead_times else None,
        change_failure_rate=len(failures) / len(window) if window else 0.0,
        time_to_restore=statistics.median(restores) if restores else None,
        unrestored=unrestored,
    )


def _restored_at(failure: Marker, ordered: Sequence[Marker]) -> datetime | None:
    if failure.restored_at:
        return parse_time(failure.restored_at)
    later = [m for m in ordered if m.result == SUCCESS and m.finished_time > failure.finished_time]
    return later[0].finished_time if later else None


def write_textfile(figures: Sequence[Dora], path: Path = TEXTFILE) -> Path:
    registry = CollectorRegistry()
    gauges = {key: Gauge(name, text, ["target"], registry=registry) for key, (name, text) in METRICS.items()}
    for dora in figures:
        for key, gauge in gauges.items():
            value = getattr(dora, key)
            if value is not None:  # an undefined median is left out, not exported as zero
                gauge.labels(target=dora.target).set(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)
    return path


def main(targets: Sequence[str] | None = None, at: datetime | None = None) -> str:
    history = releases.markers()
    at = at or parse_time(releases.now())
    names = list(targets or sorted({m.target for m in history}))
    figures = [compute(history, name, at) for name in names]
    for dora in figures:
        for line in dora.lines():
            say(line)
    path = write_textfile(figures)
    if not figures:
        return f"no deploys recorded in {shown(releases.HISTORY)}; wrote an empty {shown(path)}"
    return "; ".join(
        f"{d.target}: {d.deployment_frequency:.2f}/day, lead {_duration(d.lead_time)}, "
        f"CFR {d.change_failure_rate * 100:.0f} %, MTTR {_duration(d.time_to_restore)}" for d in figures
    ) + f" (written to {shown(path)})"


def publish(target_name: str, group: str = "monitor") -> str:
    """Copy the textfile to the ``group`` hosts' node_exporter, which Prometheus scrapes."""
    from pipelines.targets import PLAYBOOKS, ansible_env, resolve

    target = resolve(target_name)
    destination = f"{NODE_EXPORTER_TEXTFILES}/{TEXTFILE.name}"
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), group, "-i", str(target.inventory), "--become", "-m",
         "ansible.builtin.copy", "-a", f"src={TEXTFILE} dest={destination} mode=0644"],
        cwd=PLAYBOOKS, env=ansible_env(target), capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise StepFailed(f"copying {shown(TEXTFILE)} to the {group} hosts failed: {completed.stdout[-500:]}")
    return f"{shown(TEXTFILE)} -> {group} hosts' {destination} (node_exporter textfile collector)"
