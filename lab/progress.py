"""Progress lines with timings, so a long bring-up shows where its time goes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

console = Console(highlight=False, soft_wrap=True)
timings: dict[str, float] = {}


@contextmanager
def step(title: str) -> Iterator[None]:
    console.print(f"[bold cyan]==>[/] {title}")
    started = time.monotonic()
    try:
        yield
    except BaseException:
        console.print(f"[bold red]FAILED[/] {title} after {time.monotonic() - started:.1f} s")
        raise
    elapsed = time.monotonic() - started
    timings[title] = elapsed
    console.print(f"    [green]done[/] in {elapsed:.1f} s")


def note(text: str) -> None:
    console.print(f"    {text}")
