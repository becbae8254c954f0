"""The deploy step's decisions, with the playbooks and the load balancer stood in for."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pipelines import deploy, releases
from pipelines.playbook import PlaybookRun
from pipelines.releases import FAILED, SUCCESS, Marker
from pipelines.runner import StepFailed
from pipelines.targets import Target

TARGET = Target("lab", Path("inventory"), "http://lb")
RECAP = "PLAY RECAP\nweb-1 : ok=10 changed={n} failed=0\nweb-2 : ok=10 changed={n} failed=0\n"


@pytest.fixture
def lab(monkeypatch, tmp_path):
    """A lab whose playbooks, load balancer and purchase journey the test decides."""
    history = tmp_path / "releases.jsonl"
    monkeypatch.setattr(releases, "HISTORY", history)
    monkeypatch.setattr(deploy, "resolve", lambda name: TARGET)
    monkeypatch.setattr(releases, "change_times", lambda sha, since: ["2026-12-01T10:00:00+00:00"])
    state = {"playbooks": [], "deploy_rc": 0, "changed": 3, "broken": set(), "serving": Counter({"new": 20})}

    def run_playbook(target, playbook, *args):
        state["playbooks"].append(playbook)
        rc = state["deploy_rc"] if playbook == "deploy.yml" else 0
        output = 'fatal: [web-1]: FAILED! => {"msg": "Release new failed its health checks"}\n' if rc else ""
        return PlaybookRun(rc, output + RECAP.format(n=state["changed"]), 1.0, Path("log"))

    def purchase(url, release):
        if release in state["broken"]:
            raise StepFailed(f"smoke test, pay: POST /api/v1/orders/1/payments answered 500 on {release}")
        return f"purchase journey ok on {release}"

    monkeypatch.setattr(deploy, "run_playbook", run_playbook)
    monkeypatch.setattr(deploy.smoke, "purchase", purchase)
    monkeypatch.setattr(deploy, "serving", lambda url, samples=20: state["serving"])
    releases.record(Marker("lab", "old", "0.1.0", "a" * 40, "2026-12-01T09:00:00+00:00",
                           "2026-12-01T09:01:00+00:00", 60.0, SUCCESS))
    return state


def test_a_good_release_is_recorded_as_a_successful_deploy(lab):
    summary = deploy.deploy("lab", "new")
    assert lab["playbooks"] == ["deploy.yml"] and "6 changes on the hosts" in summary
    marker = releases.markers("lab")[-1]
    assert (marker.release, marker.result, marker.changed) == ("new", SUCCESS, True)


def test_deploying_the_running_release_again_reports_no_change(lab):
    lab["changed"] = 0
    assert "no changes on the hosts" in deploy.deploy("lab", "old")
    assert releases.markers("lab")[-1].changed is False


def test_a_failed_smoke_test_rolls_every_host_back_and_fails(lab):
    lab["broken"] = {"new"}
    with pytest.raises(StepFailed, match="answered 500 on new; rolled back to old, which serves again"):
        deploy.deploy("lab", "new")
    assert lab["playbooks"] == ["deploy.yml", "rollback.yml"]
    marker = releases.markers("lab")[-1]
    assert (marker.result, marker.rolled_back_to) == (FAILED, "old") and marker.restored_at and marker.failed_at


def test_a_roll_stopped_by_the_playbook_needs_no_rollback_playbook(lab):
    lab["deploy_rc"], lab["serving"] = 2, Counter({"old": 20})
    with pytest.raises(StepFailed, match="failed its health checks.*rolled back to old"):
        deploy.deploy("lab", "new")
    assert lab["playbooks"] == ["deploy.yml"] and releases.markers("lab")[-1].restored_at


def test_a_rollback_that_does_not_serve_says_so(lab):
    lab["broken"] = {"new", "old"}
    with pytest.raises(StepFailed, match="NOT restored"):
        deploy.deploy("lab", "new")
    assert releases.markers("lab")[-1].restored_at is None
