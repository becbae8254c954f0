"""Cached product pages and listings, and how a catalog change invalidates them.

A product page is kept under its product id and dropped when that product changes. Listings
(search, filters, pages, recommendations) have too many keys to find and drop, so each key holds
the catalog *generation*: a random token replaced on every change, which orphans all older
listing keys at once (they expire on their own). Losing the token (eviction, restart) only makes a
new one, so a lost token can never serve a stale listing. Only data that is the same for every
visitor is cached here. Entries are kept as JSON text, so a hit is answered without decoding
and re-encoding the document.

Redis is a help, never a need: when it cannot be reached, reads come from the database and
changes commit without invalidating (see cache_outage).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from flask import current_app
from redis import RedisError

from ..extensions import cache
from . import cache_outage
from .near_cache import NearCache

GENERATION_KEY = "catalog:generation"
SEARCH_WORDS_KEY = "catalog:search-words"

def _product_key(product_id: int) -> str:
    return f"catalog:product:{product_id}"


def generation() -> str:
    token = cache.get(GENERATION_KEY)
    if token is None:
        # add() only writes when absent, so concurrent first readers agree on one token.
        cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=0)
        token = cache.get(GENERATION_KEY)
    return token


def _near_cache() -> NearCache | None:
    return current_app.extensions.get("near_cache")


def _document(load: Callable[[], Any]) -> str:
    return json.dumps(load(), separators=(",", ":"))


def _remember(key: Callable[[], str], load: Callable[[], Any], near_key: str) -> str:
    """The document under `key()`: from this process's near cache, Redis, or `load()`."""
    near = _near_cache()
    text = near.get(near_key) if near else None
    if text is not None:
        return text
    epoch = near.epoch if near else 0
    try:
        redis_key = key()
        text = cache.get(redis_key)
    except RedisError as error:
        cache_outage.record("read", error)
        return _document(load)
    if text is None:
        text = _document(load)
        with cache_outage.tolerated("write"):
            cache.set(redis_key, text)
    if near:
        near.put(near_key, text, epoch)
    return text


def product_page(product_id: int, load: Callable[[], Any]) -> str:
    """The cached page of one product as JSON text, loaded (and kept) on a miss."""
    key = _product_key(product_id)
    return _remember(lambda: key, load, near_key=key)


def listing(kind: str, params: dict[str, Any], load: Callable[[], Any]) -> str:
    """A cached listing (JSON text) of `kind` for these parameters in the current catalog generation.

    The generation is read before loading, so a listing loaded during a change is filed under
    the generation it may predate and is never served after the change.
    """
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:32]
    near = _near_cache()
    # The near cache drops every listing on any change, so it needs no generation (and no trip).
    if near and (text := near.get(f"catalog:{kind}:{digest}")) is not None:
        return text
    return _remember(lambda: f"catalog:{kind}:{generation()}:{digest}", load, near_key=f"catalog:{kind}:{digest}")


def search_words(load: Callable[[], list[str]]) -> str:
    """Every word of every product name (JSON text), kept for the cache timeout, not a catalog
    generation: a word missing for a while only misses a "did you mean", and a stock change must
    not make the next search read every name again."""
    return _remember(lambda: SEARCH_WORDS_KEY, load, near_key=SEARCH_WORDS_KEY)


def invalidate_products(product_ids: Iterable[int]) -> None:
    """Forget these products' pages and every listing. Call it after the change is committed.

    The change stands even if Redis cannot be reached: what was not dropped expires on its own.
    """
    product_ids = set(product_ids)
    keys = [_product_key(product_id) for product_id in product_ids]
    if keys:
        with cache_outage.tolerated("invalidate"):
            cache.delete_many(*keys)
    with cache_outage.tolerated("invalidate"):
        cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=0)
    if near := _near_cache():
        near.announce(product_ids)
