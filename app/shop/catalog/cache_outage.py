"""When Redis, the catalog's cache, cannot be reached.

The catalog carries on without it: reads come from the database, and writes commit without
invalidating (what they should have dropped expires by CACHE_TIMEOUT_SECONDS). Each failed cache
operation is counted in shop_cache_errors_total{operation} and logged at warning, but at most once
per interval per process, so an outage does not flood the logs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from redis import RedisError

from ..metrics import CACHE_ERRORS

log = logging.getLogger(__name__)

# At most one warning per this many seconds per process; the next one says how many were held back.
WARNING_INTERVAL_SECONDS = 60.0


class OutageLog:
    def __init__(self, interval_seconds: float, clock: Callable[[], float] = time.monotonic):
        self._interval = interval_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._next_warning: float | None = None
        self._held_back = 0

    def record(self, operation: str, error: Exception) -> None:
        CACHE_ERRORS.labels(operation).inc()
        with self._lock:
            now = self._clock()
            if self._next_warning is not None and now < self._next_warning:
                self._held_back += 1
                return
            held_back, self._held_back = self._held_back, 0
            self._next_warning = now + self._interval
        since = f"; {held_back} more since the last warning" if held_back else ""
        log.warning("catalog cache unreachable on %s (%s); reads go to the database, changes commit without "
                    "invalidating%s", operation, error, since)


outage_log = OutageLog(WARNING_INTERVAL_SECONDS)


def record(operation: str, error: Exception) -> None:
    outage_log.record(operation, error)


@contextmanager
def tolerated(operation: str) -> Iterator[None]:
    """Run a cache operation the request can do without: if Redis cannot be reached, record it and go on."""
    try:
        yield
    except RedisError as error:
        record(operation, error)
