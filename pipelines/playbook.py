"""Run a playbook of playbooks/ against a target's inventory, keep its log, read its recap."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pipelines.runner import ROOT, say, shown
from pipelines.targets import PLAYBOOKS, Target, ansible_env

LOGS = ROOT / "build" / "logs"
RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$")
# Lines worth showing while a playbook runs: where it is, and what went wrong.
PROGRESS = re.compile(r"^(PLAY \[|fatal:|failed:|FAILED|ERROR)")


@dataclass(frozen=True)
class PlaybookRun:
    returncode: int
    output: str
    seconds: float
    log: Path

    def recap(self) -> dict[str, dict[str, int]]:
        """PLAY RECAP counts per host (ok, changed, failed, ...)."""
        counts = {}
        for line in self.output.rsplit("PLAY RECAP", 1)[-1].splitlines():
            match = RECAP_LINE.match(line.strip())
            if match:
                counts[match["host"]] = {key: int(value) for key, value in
                                         (pair.split("=") for pair in match["counts"].split())}
        return counts

    def changed(self) -> int:
        return sum(host.get("changed", 0) for host in self.recap().values())

    def failure(self) -> str:
        messages = re.findall(r'"msg": "([^"]+)"|msg: (.+)', self.output)
        last = next((a or b for a, b in reversed(messages) if a or b), f"exit {self.returncode}")
        return f"{last.strip()[:300]} (log: {shown(self.log)})"


def run_playbook(target: Target, playbook: str, *args: str, timeout: float = 1800) -> PlaybookRun:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{target.name}-{Path(playbook).stem}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(target.inventory), playbook, *args]
    started = time.monotonic()
    lines: list[str] = []
    with subprocess.Popen(command, cwd=PLAYBOOKS, env=ansible_env(target), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if PROGRESS.match(line):
                say(f"    | {line.rstrip()[:160]}")
            if time.monotonic() - started > timeout:
                process.kill()
        returncode = process.wait()
    output = "".join(lines)
    log.write_text(output)
    return PlaybookRun(returncode, output, time.monotonic() - started, log)
