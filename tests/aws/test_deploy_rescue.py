"""deploy.yml's rescue never restarts a web host that may still be serving: only one that
lb_membership recorded as out of the load balancer, and only after taking it out again."""

from __future__ import annotations

from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "playbooks" / "deploy.yml"


def _web_rescue() -> list[dict]:
    play = next(p for p in yaml.safe_load(DEPLOY.read_text()) if p["hosts"] == "web")
    return next(task for task in play["tasks"] if "rescue" in task)["rescue"]


def _includes(task: dict, role: str, tasks_from: str) -> bool:
    included = task.get("ansible.builtin.include_role", {})
    return included.get("name") == role and included.get("tasks_from") == tasks_from


def _conditions(task: dict) -> list[str]:
    when = task.get("when", [])
    return [when] if isinstance(when, str) else when


def test_the_rescue_restarts_only_inside_a_block_that_requires_the_host_out():
    blocks = [task for task in _web_rescue() if any(_includes(t, "app_web", "restart.yml")
                                                    for t in task.get("block", []))]
    assert len(blocks) == 1
    assert "lb_membership_out_of_service | default(false)" in _conditions(blocks[0])
    assert not any(_includes(task, "app_web", "restart.yml") for task in _web_rescue())


def test_the_rescue_takes_the_host_out_again_before_restarting_it():
    block = next(task["block"] for task in _web_rescue() if "block" in task)
    leave = next(i for i, t in enumerate(block) if _includes(t, "lb_membership", "leave.yml"))
    restart = next(i for i, t in enumerate(block) if _includes(t, "app_web", "restart.yml"))
    assert leave < restart
