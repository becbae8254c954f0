"""Bounded HTTP load through the load balancer: a few clients, a cap on requests and on time."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import requests


@dataclass
class LoadResult:
    sent: int = 0
    failures: list[str] = field(default_factory=list)
    releases: Counter = field(default_factory=Counter)
    seconds: float = 0.0


class Load:
    """Clients GET ``paths`` in turn until stopped, ``max_requests`` or ``max_seconds``."""

    def __init__(self, base_url: str, paths: tuple[str, ...] = ("/healthz", "/api/v1/products"),
                 clients: int = 4, max_requests: int = 50_000, max_seconds: float = 300) -> None:
        self.base_url = base_url
        self.paths = paths
        self.clients = clients
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.result = LoadResult()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._started = 0.0

    def __enter__(self) -> Load:
        self._started = time.monotonic()
        for _ in range(self.clients):
            thread = threading.Thread(target=self._client, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self.result.seconds = time.monotonic() - self._started

    def _claim(self) -> bool:
        with self._lock:
            if self.result.sent >= self.max_requests:
                return False
            self.result.sent += 1
            return True

    def _client(self) -> None:
        deadline = self._started + self.max_seconds
        session = requests.Session()
        turn = 0
        while not self._stop.is_set() and time.monotonic() < deadline and self._claim():
            path = self.paths[turn % len(self.paths)]
            turn += 1
            try:
                reply = session.get(f"{self.base_url}{path}", timeout=10)
            except requests.RequestException as error:
                self._record_failure(f"{path}: {type(error).__name__}: {error}")
                continue
            if reply.status_code != 200:
                self._record_failure(f"{path}: HTTP {reply.status_code}")
            elif path == "/healthz":
                with self._lock:
                    self.result.releases[reply.json()["release"]] += 1
            time.sleep(0.02)

    def _record_failure(self, failure: str) -> None:
        with self._lock:
            self.result.failures.append(failure)
