"""Fault hooks for the backbone's tests, off unless SHOP_EVENTS_FAULT_PAUSE_SECONDS is set: an event
whose payload names a pause point (`"fault_pause": "after_log"`) makes the consumer process sleep
there on its first delivery, so a test can kill it at that exact point."""

from __future__ import annotations

import os
import sys
import time

from . import Event

PAUSE_ENV = "SHOP_EVENTS_FAULT_PAUSE_SECONDS"
# After the audit consumer's intermediate commit, before its final one.
AFTER_LOG = "after_log"
# After the final commit (inbox row included), before the message is acknowledged.
BEFORE_ACK = "before_ack"


def pause_at(point: str, event: Event) -> None:
    seconds = float(os.environ.get(PAUSE_ENV) or 0)
    if seconds and event.payload.get("fault_pause") == point:
        print(f"paused {point} on event {event.id} in process {os.getpid()}", file=sys.stderr, flush=True)
        time.sleep(seconds)
