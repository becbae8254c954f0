"""The deploy step: roll the release out with Ansible, prove the purchase journey, or roll back.

    python -m pipelines deploy --target lab|dev|staging|prod [--release <image tag>]

``deploy.yml`` switches the web hosts one at a time (a host failing its checks goes back by
itself and the roll stops). Then the smoke test makes a purchase through the load balancer. If
either fails while a host serves the new release, ``rollback.yml`` returns every app host to the
release before, the smoke test proves the last good release serves again, and the step fails.
Every run appends a release marker to the release history (``pipelines/releases.py``).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace

import requests

from pipelines import build_image, bundle, releases, smoke
from pipelines.playbook import run_playbook
from pipelines.releases import FAILED, SUCCESS, Marker
from pipelines.runner import StepFailed, say
from pipelines.targets import Target, resolve


def serving(url: str, samples: int = 20) -> Counter[str]:
    """The releases answering ``/healthz`` through the load balancer, over ``samples`` requests."""
    seen: Counter[str] = Counter()
    for _ in range(samples):
        try:
            seen[requests.get(f"{url}/healthz", timeout=5).json().get("release", "?")] += 1
        except (requests.RequestException, ValueError):
            seen["(no answer)"] += 1
    return seen


def deploy(target_name: str, release: str | None = None) -> str:
    target = resolve(target_name)
    release = release or build_image.default_release()
    last_good = releases.last_good(target.name)
    started, clock = releases.now(), time.monotonic()
    say(f"    deploying {release} to {target.name} (last good: {last_good.release if last_good else 'none'})")
    run = run_playbook(target, "deploy.yml", "-e", f"shop_release={release}")
    changed = run.changed()
    failure = None if run.returncode == 0 else f"deploy.yml failed: {run.failure()}"
    journey = ""
    if failure is None:
        try:
            journey = smoke.purchase(target.public_url, release)
        except StepFailed as error:
            failure = str(error)
    if failure is None and target.name != "lab":
        # Hosts the Auto Scaling groups launch from now on start the release the others run.
        say(f"    {bundle.bundle(target.name, release)}")
    marker = success_marker(target.name, release, last_good, started, time.monotonic() - clock, changed)
    if failure is None:
        releases.record(marker)
        hosts = f"{changed} changes on the hosts" if changed else "no changes on the hosts"
        return f"{release} on {target.name} in {marker.duration_seconds:.0f} s, {hosts}; {journey}"
    failed_at = releases.now()
    say(f"    FAILED: {failure}")
    restored_at, back_to = roll_back(target, release, last_good)
    releases.record(replace(marker, result=FAILED, finished=releases.now(),
                            duration_seconds=round(time.monotonic() - clock, 1), failed_at=failed_at,
                            restored_at=restored_at, rolled_back_to=back_to, detail=failure[:500]))
    outcome = f"rolled back to {back_to}, which serves again" if restored_at else "NOT restored: see the log"
    raise StepFailed(f"{failure}; {outcome}")


def success_marker(target: str, release: str, last_good: Marker | None, started: str, seconds: float,
                   changed: int) -> Marker:
    """The marker of a deploy of this tree's commit that went well; a failure is recorded by replacing fields."""
    sha = build_image.git_sha()
    return Marker(
        target=target, release=release, version=build_image.project_version(), git_sha=sha, started=started,
        finished=releases.now(), duration_seconds=round(seconds, 1), result=SUCCESS,
        changed=changed > 0 or last_good is None or last_good.release != release,
        change_times=releases.change_times(sha, last_good.git_sha if last_good else None),
    )


def roll_back(target: Target, release: str, last_good: Marker | None) -> tuple[str | None, str | None]:
    """Return the hosts to the last good release; when it serves again, and which release that is."""
    seen = serving(target.public_url)
    say(f"    serving after the failure: {dict(seen)}")
    if last_good is None:
        say("    no good release recorded for this target: nothing to roll back to")
        return None, None
    if release in seen and release != last_good.release:
        say(f"    rolling every app host back to the release before (rollback.yml, expecting {last_good.release})")
        run = run_playbook(target, "rollback.yml")
        if run.returncode != 0:
            say(f"    rollback.yml failed: {run.failure()}")
            return None, last_good.release
    try:
        say(f"    {smoke.purchase(target.public_url, last_good.release)}")
    except StepFailed as error:
        say(f"    the last good release does not serve: {error}")
        return None, last_good.release
    return releases.now(), last_good.release
