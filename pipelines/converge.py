"""Bring the lab's hosts to this tree: image built and pushed, site.yml converged, release deployed.

Skipped when already current: the hosts serve this tree's release and the last converge used the
same playbooks (a digest of ``playbooks/`` kept in the lab's state).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace

from pipelines import build, build_image, releases
from pipelines.deploy import serving, success_marker
from pipelines.playbook import run_playbook
from pipelines.releases import FAILED
from pipelines.runner import ROOT, StepFailed, say
from pipelines.targets import PLAYBOOKS, resolve


def playbooks_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(PLAYBOOKS.rglob("*")):
        if path.is_file() and "inventories" not in path.relative_to(PLAYBOOKS).parts:
            digest.update(str(path.relative_to(PLAYBOOKS)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def converge() -> str:
    from lab import topology

    target = resolve("lab")
    release = build_image.default_release()
    stamp = topology.STATE / "converged"
    wanted = f"{release} {playbooks_digest()}"
    say(f"    {build.build(push='lab')}")
    seen = serving(target.public_url, samples=10)
    if stamp.exists() and stamp.read_text().strip() == wanted and set(seen) == {release}:
        return f"already current: the hosts serve {release}, converged with these playbooks; skipped"
    last_good, started, clock = releases.last_good("lab"), releases.now(), time.monotonic()
    run = run_playbook(target, "site.yml", "-e", f"shop_release={release}")
    marker = success_marker("lab", release, last_good, started, time.monotonic() - clock, run.changed())
    if run.returncode != 0:
        releases.record(replace(marker, result=FAILED, failed_at=marker.finished, detail=run.failure()))
        raise StepFailed(f"site.yml failed: {run.failure()}")
    releases.record(marker)
    stamp.write_text(wanted + "\n")
    return f"converged in {run.seconds:.0f} s, {run.changed()} changes; the shop serves {release} at " \
           f"{target.public_url}/ (log {run.log.relative_to(ROOT)})"
