"""Run steps in order, time each, print a result table, and fail on the first failing step."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class StepFailed(Exception):
    """A step's own verdict: it ran and found something wrong (the message says what)."""


@dataclass(frozen=True)
class Step:
    name: str
    # Does the work; returns a one-line summary, raises StepFailed (or anything) when it fails.
    action: Callable[[], str]


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    seconds: float
    summary: str


def say(text: str) -> None:
    print(text, flush=True)


def shown(path: Path) -> str:
    """``path`` as a reader finds it: relative to the repository when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def run_steps(steps: Sequence[Step], *, keep_going: bool = False) -> list[Result]:
    """Run ``steps`` in order; stop at the first failure unless ``keep_going``."""
    results: list[Result] = []
    for step in steps:
        say(f"==> {step.name}")
        started = time.monotonic()
        try:
            summary, ok = step.action(), True
        except StepFailed as failure:
            summary, ok = str(failure), False
        except Exception as error:  # noqa: BLE001 - a crashing step is a failed step, reported
            summary, ok = f"{type(error).__name__}: {error}", False
        results.append(Result(step.name, ok, time.monotonic() - started, summary))
        say(f"    {'ok' if ok else 'FAILED'} in {results[-1].seconds:.1f} s: {summary}")
        if not ok and not keep_going:
            break
    return results


def table(results: Sequence[Result], skipped: Sequence[str] = ()) -> str:
    width = max([len(r.name) for r in results] + [len(name) for name in skipped] + [4])
    lines = [f"{'step':<{width}}  result   seconds  summary"]
    lines += [f"{r.name:<{width}}  {'ok' if r.ok else 'FAILED':<7} {r.seconds:8.1f}  {r.summary}"
              for r in results]
    lines += [f"{name:<{width}}  {'skipped':<7} {'':>8}  not run: an earlier step failed" for name in skipped]
    return "\n".join(lines)


def succeeded(results: Sequence[Result]) -> bool:
    return all(result.ok for result in results)


def report(steps: Sequence[Step], results: Sequence[Result]) -> int:
    """Print the table of ``results`` (and the steps never reached); the exit status to use."""
    skipped = [step.name for step in steps[len(results):]]
    say("")
    say(table(results, skipped))
    total = sum(result.seconds for result in results)
    verdict = "passed" if succeeded(results) and not skipped else "FAILED"
    say(f"pipeline {verdict} in {total:.1f} s")
    return 0 if verdict == "passed" else 1
