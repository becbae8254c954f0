"""Write each role's README from its meta description and its commented defaults.

    python playbooks/role_docs.py           # rewrite the READMEs
    python playbooks/role_docs.py --check   # fail when one is out of date (tests run this)

A role's defaults are its public interface; the README lists every one with its value and the
comment above it, so the two cannot drift apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
# The production roles, and the lab's stand-ins for the managed AWS services (ansible.cfg's
# roles_path lists both).
ROLE_DIRS = (HERE / "roles", HERE.parent / "lab" / "roles")


def documented_defaults(role: Path) -> list[tuple[str, object, str]]:
    """(name, default, description) for every top-level key of defaults/main.yml, in order."""
    text = (role / "defaults" / "main.yml").read_text()
    values = yaml.safe_load(text) or {}
    rows, comment, last = [], [], ""
    for line in text.splitlines():
        if line.startswith("#"):
            comment.append(line.lstrip("# ").rstrip())
        elif line and not line.startswith((" ", "-", "---")) and ":" in line:
            name = line.split(":", 1)[0]
            last = " ".join(comment) if comment else last
            rows.append((name, values[name], last))
            comment = []
    return rows


def render(role: Path) -> str:
    meta = yaml.safe_load((role / "meta" / "main.yml").read_text())["galaxy_info"]
    lines = [f"# {role.name}", "", meta["description"], "",
             f"Platforms: Debian {', '.join(meta['platforms'][0]['versions'])}. No role "
             "dependencies: the playbooks compose roles.", "", "## Variables", ""]
    rows = documented_defaults(role)
    if rows:
        lines += ["Every default (`defaults/main.yml`):", "",
                  "| Variable | Default | What it does |", "|---|---|---|"]
        for name, value, description in rows:
            shown = yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
            shown = shown.removesuffix("\n...").removesuffix("...").strip().replace("|", "\\|")
            lines.append(f"| `{name}` | `{shown}` | {description} |")
    else:
        lines.append("None.")
    entry_points = sorted(p.name for p in (role / "tasks").glob("*.yml")
                          if p.name not in {"main.yml", "variables.yml"})
    lines += ["", "## Example", "", "```yaml", "- name: Apply the role", "  hosts: all",
              "  become: true", "  roles:", f"    - role: {role.name}", "```", "",
              "## Task files", "",
              "`tasks/main.yml` only imports the others: "
              + ", ".join(f"`{name}`" for name in entry_points) + ".", ""]
    return "\n".join(lines)


def main() -> int:
    check = "--check" in sys.argv[1:]
    stale = []
    roles = (p for d in ROLE_DIRS for p in d.iterdir() if (p / "meta" / "main.yml").exists())
    for role in sorted(roles, key=lambda p: p.name):
        readme = role / "README.md"
        wanted = render(role)
        if not readme.exists() or readme.read_text() != wanted:
            stale.append(role.name)
            if not check:
                readme.write_text(wanted)
    if check and stale:
        print(f"out-of-date role READMEs: {', '.join(stale)} (python playbooks/role_docs.py)")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
