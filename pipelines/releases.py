"""The release history: one JSON line per deploy, the record the DORA figures are computed from.

A marker says what was deployed (release, version, commit and the times of the commits it brought),
where, when, how long it took and how it ended. The file is ``build/releases.jsonl`` unless
``SHOP_RELEASE_HISTORY`` names another (CI keeps it between runs as an artifact or in a bucket).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HISTORY = Path(os.environ.get("SHOP_RELEASE_HISTORY", ROOT / "build" / "releases.jsonl"))
SUCCESS, FAILED = "success", "failed"


@dataclass(frozen=True)
class Marker:
    target: str
    release: str
    version: str
    git_sha: str
    # ISO 8601 UTC times.
    started: str
    finished: str
    duration_seconds: float
    result: str
    # Whether the deploy changed anything on the hosts (a repeated deploy of the running release does not).
    changed: bool = True
    # Commit times of the changes this deploy brought (not in the previous successful deploy).
    change_times: list[str] = field(default_factory=list)
    # For a failed deploy: when the failure was seen and when the last good release served again.
    failed_at: str | None = None
    restored_at: str | None = None
    rolled_back_to: str | None = None
    detail: str = ""

    @property
    def finished_time(self) -> datetime:
        return parse_time(self.finished)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def record(marker: Marker, path: Path | None = None) -> None:
    path = path or HISTORY
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as history:
        history.write(json.dumps(asdict(marker), sort_keys=True) + "\n")


def markers(target: str | None = None, path: Path | None = None) -> list[Marker]:
    return [m for m in _read(path or HISTORY) if target is None or m.target == target]


def _read(path: Path) -> Iterator[Marker]:
    if not path.exists():
        return
    for line in path.read_text().splitlines():
        if line.strip():
            yield Marker(**json.loads(line))


def last_good(target: str, path: Path | None = None) -> Marker | None:
    good = [m for m in markers(target, path) if m.result == SUCCESS]
    return good[-1] if good else None


def change_times(sha: str, since_sha: str | None) -> list[str]:
    """Commit times of ``since_sha..sha``, newest first; the head commit's alone on a first deploy
    (a target's first deploy would otherwise count the repository's whole history)."""
    if since_sha:
        completed = subprocess.run(["git", "log", "--format=%cI", f"{since_sha}..{sha}"], cwd=ROOT,
                                   capture_output=True, text=True, check=False)
        if completed.returncode == 0:
            return completed.stdout.split()[:500]
    # A first deploy, or the previous commit is unknown here (a shallow clone): the head only.
    completed = subprocess.run(["git", "log", "-1", "--format=%cI", sha], cwd=ROOT, capture_output=True,
                               text=True, check=True)
    return completed.stdout.split()
