"""The near cache: catalog documents this process served recently, kept in its own memory so
a hot product page or listing costs no Redis round trip.

Every process listens on a Redis channel (one per Redis database) where the catalog cache
announces each change (the products whose pages changed, and whether listings did too), and
drops what the change touched the moment the announcement arrives. Whenever the listener
(re)connects it drops everything, since announcements may have been missed meanwhile; entries
also expire after a few seconds, which bounds staleness should the listener stall, or a rolling
deploy run two releases whose channels differ.

Redis may be unreachable at start or go away: until the listener is subscribed again nothing is
served from here, and an announcement that cannot be sent still drops this process's own entries.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable

import redis

from . import cache_outage

# Publish/subscribe channels are the Redis server's, not a database's: each database's shop has its own.
CHANNEL = "shop:catalog:changes:{database}"


class NearCache:
    def __init__(self, redis_url: str, ttl_seconds: float, timeout_seconds: float, max_entries: int = 4096,
                 clock: Callable[[], float] = time.monotonic):
        self._redis_url = redis_url
        self._timeout = timeout_seconds
        self._ttl = ttl_seconds
        self._clock = clock
        # Announcements share one pooled client (it connects on first use).
        self._publisher = redis.Redis.from_url(redis_url, socket_connect_timeout=timeout_seconds,
                                               socket_timeout=timeout_seconds)
        self._channel = CHANNEL.format(database=self._publisher.connection_pool.connection_kwargs.get("db", 0))
        self._max_entries = max_entries
        # key -> (expiry, text, the products a filled listing shows: it goes when one of them changes)
        self._entries: dict[str, tuple[float, str, frozenset[int]]] = {}
        self._lock = threading.Lock()
        self._dropped = threading.Condition(self._lock)
        self._listening = threading.Event()
        self._stopped = threading.Event()
        self._listener: threading.Thread | None = None
        # Bumped by every drop: a document loaded across a drop may predate it and is not kept.
        self.epoch = 0

    # --- what the request path uses ----------------------------------------------------------

    def get(self, key: str) -> str | None:
        self._ensure_listener()
        if not self._listening.is_set():
            return None  # not subscribed yet: nothing here can be trusted
        entry = self._entries.get(key)
        if entry is None or entry[0] < self._clock():
            return None
        return entry[1]

    def put(self, key: str, text: str, epoch: int, shows: Iterable[int] = ()) -> None:
        """Keep `text` read since `epoch`; a listing filled with product pages names the products it
        `shows`, and goes when one of them changes."""
        if not self._listening.is_set():
            return
        with self._lock:
            if epoch != self.epoch:
                return
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[key] = (self._clock() + self._ttl, text, frozenset(shows))

    def announce(self, product_ids: Iterable[int], listings: bool = True) -> None:
        """Tell every process (this one too) which products changed, and whether listings did."""
        product_ids = set(product_ids)
        self.drop(product_ids, listings)
        with cache_outage.tolerated("announce"):
            self._publisher.publish(self._channel, json.dumps({"products": sorted(product_ids), "listings": listings}))

    def wait_until_listening(self, timeout: float) -> bool:
        """Whether this process is subscribed to the announcements within `timeout` seconds."""
        self._ensure_listener()
        return self._listening.wait(timeout)

    def wait_for_drop(self, after_epoch: int, timeout: float) -> bool:
        """Whether something was dropped since `after_epoch` (an announcement arrived) within `timeout`."""
        with self._dropped:
            return self._dropped.wait_for(lambda: self.epoch > after_epoch, timeout)

    # --- invalidation ------------------------------------------------------------------------

    def drop(self, product_ids: Iterable[int], listings: bool = True) -> None:
        """Forget these products' pages and the filled listings that show them, and every listing if
        `listings` (a listing's own entry keeps no page, so a change of stock alone leaves it)."""
        product_ids = set(product_ids)
        pages = {f"catalog:product:{product_id}" for product_id in product_ids}
        with self._lock:
            self.epoch += 1
            self._entries = {key: entry for key, entry in self._entries.items()
                             if key not in pages and product_ids.isdisjoint(entry[2])
                             and (not listings or key.startswith("catalog:product:"))}
            self._dropped.notify_all()

    def clear(self) -> None:
        with self._lock:
            self.epoch += 1
            self._entries = {}
            self._dropped.notify_all()

    def close(self) -> None:
        self._stopped.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
        self._publisher.close()

    def _ensure_listener(self) -> None:
        if self._listener is None:
            with self._lock:
                if self._listener is None:
                    self._listener = threading.Thread(target=self._listen, name="near-cache", daemon=True)
                    self._listener.start()

    def _listen(self) -> None:
        while not self._stopped.is_set():
            try:
                with (redis.Redis.from_url(self._redis_url, socket_timeout=5, socket_connect_timeout=5) as client,
                      client.pubsub() as pubsub):
                    pubsub.subscribe(self._channel)
                    while not self._stopped.is_set():
                        message = pubsub.get_message(timeout=1.0)
                        if message is None:
                            continue
                        if message["type"] == "subscribe":
                            self.clear()
                            self._listening.set()
                        elif message["type"] == "message":
                            change = json.loads(message["data"])
                            self.drop(change["products"], bool(change["listings"]))
            except (redis.RedisError, OSError, ValueError) as error:
                cache_outage.record("listen", error)
            self._listening.clear()
            self.clear()
            self._stopped.wait(1.0)
