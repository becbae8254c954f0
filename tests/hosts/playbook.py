"""Run a playbook of playbooks/ against the inventory under test and read its recap."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"
LOGS = ROOT / "lab" / ".logs"
RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$")


@dataclass
class PlaybookRun:
    returncode: int
    output: str
    seconds: float
    log: Path

    def recap(self) -> dict[str, dict[str, int]]:
        """PLAY RECAP counts per host (ok, changed, failed, ...)."""
        section = self.output.rsplit("PLAY RECAP", 1)[-1]
        counts = {}
        for line in section.splitlines():
            match = RECAP_LINE.match(line.strip())
            if match:
                counts[match["host"]] = {
                    key: int(value)
                    for key, value in (pair.split("=") for pair in match["counts"].split())
                }
        return counts


def run_playbook(inventory: str, playbook: str, *args: str, timeout: float = 900) -> PlaybookRun:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{Path(playbook).stem}-{time.strftime('%H%M%S')}.log"
    env = {**os.environ, "PATH": f"/usr/bin:{Path(sys.executable).parent}:{os.environ['PATH']}",
           "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
    vault_password = ROOT / "lab" / ".state" / "vault-password"
    if vault_password.exists() and "ANSIBLE_VAULT_PASSWORD_FILE" not in env:
        env["ANSIBLE_VAULT_PASSWORD_FILE"] = str(vault_password)
    started = time.monotonic()
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(Path(inventory).resolve()),
         playbook, *args],
        cwd=PLAYBOOKS, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )
    output = completed.stdout + completed.stderr
    log.write_text(output)
    return PlaybookRun(completed.returncode, output, time.monotonic() - started, log)
