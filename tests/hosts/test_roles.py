"""The roles keep the house layout: checked on the files, no hosts needed."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"
# ansible.cfg's roles_path: the production roles, then the lab's stand-ins for managed services.
ROLE_DIRS = (PLAYBOOKS / "roles", ROOT / "lab" / "roles")
ROLES = sorted((p for d in ROLE_DIRS for p in d.iterdir() if p.is_dir()), key=lambda p: p.name)
TEMPLATES = sorted(p for role in ROLES for p in (role / "templates").rglob("*.j2"))
# JSON has no comments: these templates cannot carry the ansible_managed header.
JSON_TEMPLATES = {"daemon.json.j2", "shop_release.fact.j2"}


def _defaults(role: Path) -> dict:
    return yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_every_default_is_prefixed_with_the_role_name(role):
    assert [name for name in _defaults(role) if not name.startswith(f"{role.name}_")] == []


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_main_tasks_only_import_task_files(role):
    tasks = yaml.safe_load((role / "tasks" / "main.yml").read_text())
    modules = {key for task in tasks for key in task if key != "name"}
    assert modules == {"ansible.builtin.import_tasks"}


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_role_has_no_meta_dependencies(role):
    assert yaml.safe_load((role / "meta" / "main.yml").read_text())["dependencies"] == []


@pytest.mark.parametrize(
    "template", [t for t in TEMPLATES if t.name not in JSON_TEMPLATES], ids=lambda p: p.name
)
def test_template_starts_with_the_managed_header(template):
    first = next(line for line in template.read_text().splitlines() if not line.startswith("#!"))
    assert re.fullmatch(r"\{\{ ansible_managed \| comment(\('c'\))? \}\}", first)


def test_role_readmes_list_the_current_defaults():
    check = subprocess.run([sys.executable, str(PLAYBOOKS / "role_docs.py"), "--check"],
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout
