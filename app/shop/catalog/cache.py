"""Cached product pages and listings, and how a catalog change invalidates them.

A product page is kept under its product id and dropped when that product changes. A listing
(search, filters, pages, recommendations) keeps no product in it, only references to product pages
(`{"$product": 12}`), filled in from those pages when it is served: a sale or a cancel changes the
stock of a few products, drops their pages, and every listing stays. Listings have too many keys
to find and drop, so each key holds the catalog *generation*: a random token replaced when a
product's details change (its name, price, category: what listings find and sort by), which
orphans all older listing keys at once (they expire on their own). Recommendations show in-stock
products only, so their keys also hold the *stock generation*, replaced only when a product sells
out or comes back. Losing a token (eviction, restart) only makes a new one, so a lost token can
never serve a stale listing. Only data that is the same for every visitor is cached here. Entries
are kept as JSON text, so a hit is answered without decoding and re-encoding the documents.

Redis is a help, never a need: when it cannot be reached, reads come from the database and
changes commit without invalidating (see cache_outage).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from flask import current_app
from redis import RedisError

from ..extensions import cache
from ..metrics import CATALOG_CACHE
from . import cache_outage
from .near_cache import NearCache

GENERATION_KEY = "catalog:generation"
STOCK_GENERATION_KEY = "catalog:stock-generation"
SEARCH_WORDS_KEY = "catalog:search-words"
# Where a listing shows a product: the product's page is put in its place when the listing is served.
PRODUCT_REFERENCE = re.compile(r'\{"\$product":(\d+)\}')


@functools.cache
def _lookups(kind: str, result: str):
    return CATALOG_CACHE.labels(kind, result)


@functools.lru_cache(maxsize=4096)
def _digest(params: tuple) -> str:
    return hashlib.sha256(json.dumps(params, default=str).encode()).hexdigest()[:32]


def product_reference(product_id: int) -> dict[str, int]:
    """What a listing's loader puts where a product's page goes."""
    return {"$product": product_id}


def _product_key(product_id: int) -> str:
    return f"catalog:product:{product_id}"


def _token(key: str) -> str:
    token = cache.get(key)
    if token is None:
        # add() only writes when absent, so concurrent first readers agree on one token.
        cache.add(key, uuid.uuid4().hex, timeout=0)
        token = cache.get(key)
    return token


def generation() -> str:
    return _token(GENERATION_KEY)


def stock_generation() -> str:
    return _token(STOCK_GENERATION_KEY)


def _near_cache() -> NearCache | None:
    return current_app.extensions.get("near_cache")


def _document(load: Callable[[], Any]) -> str:
    return json.dumps(load(), separators=(",", ":"))


def _remember(kind: str, key: Callable[[], str], load: Callable[[], Any], near_key: str) -> str:
    """The document under `key()`: from this process's near cache, Redis, or `load()`."""
    near = _near_cache()
    text = near.get(near_key) if near else None
    if text is not None:
        _lookups(kind, "hit").inc()
        return text
    epoch = near.epoch if near else 0
    try:
        redis_key = key()
        text = cache.get(redis_key)
    except RedisError as error:
        cache_outage.record("read", error)
        _lookups(kind, "miss").inc()
        return _document(load)
    _lookups(kind, "miss" if text is None else "hit").inc()
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
    return _remember("product", lambda: key, load, near_key=key)


def keep_product_pages(pages: dict[int, Any]) -> None:
    """Keep pages a listing's loader read anyway, so serving the listing reads them no second time."""
    texts = {_product_key(product_id): _document(lambda page=page: page) for product_id, page in pages.items()}
    if texts:
        with cache_outage.tolerated("write"):
            cache.set_many(texts)


def product_pages(product_ids: Iterable[int], load: Callable[[list[int]], dict[int, Any]]) -> dict[int, str]:
    """The cached pages of these products (JSON text by id); those not kept anywhere are loaded
    together by `load(ids)` (which leaves out products that no longer exist) and kept."""
    near = _near_cache()
    wanted = list(dict.fromkeys(product_ids))
    texts: dict[int, str] = {}
    missing: list[int] = []
    for product_id in wanted:
        text = near.get(_product_key(product_id)) if near else None
        if text is None:
            missing.append(product_id)
        else:
            texts[product_id] = text
    if not missing:
        _lookups("product", "hit").inc(len(texts))
        return texts
    epoch = near.epoch if near else 0
    try:
        kept = cache.get_many(*[_product_key(product_id) for product_id in missing])
    except RedisError as error:
        cache_outage.record("read", error)
        kept = [None] * len(missing)
    unknown = [product_id for product_id, text in zip(missing, kept, strict=True) if text is None]
    loaded = {product_id: _document(lambda page=page: page) for product_id, page in load(unknown).items()} \
        if unknown else {}
    if loaded:
        with cache_outage.tolerated("write"):
            cache.set_many({_product_key(product_id): text for product_id, text in loaded.items()})
    for product_id, text in zip(missing, kept, strict=True):
        text = text if text is not None else loaded.get(product_id)
        if text is not None:
            texts[product_id] = text
            if near:
                near.put(_product_key(product_id), text, epoch)
    _lookups("product", "hit").inc(len(wanted) - len(unknown))
    if unknown:
        _lookups("product", "miss").inc(len(unknown))
    return texts


def _fill(entry: str, load_pages: Callable[[list[int]], dict[int, Any]]) -> str | None:
    """The listing with its products' pages in place; None if one of them no longer exists."""
    ids = [int(found) for found in PRODUCT_REFERENCE.findall(entry)]
    if not ids:
        return entry
    pages = product_pages(ids, load_pages)
    if len(pages) != len(set(ids)):
        return None
    return PRODUCT_REFERENCE.sub(lambda match: pages[int(match.group(1))], entry)


def listing(kind: str, params: dict[str, Any], load: Callable[[], Any],
            load_pages: Callable[[list[int]], dict[int, Any]] | None = None, *, by_stock: bool = False) -> str:
    """A cached listing (JSON text) of `kind` for these parameters in the current catalog generation
    (and stock generation, `by_stock`, for a listing that shows in-stock products only).

    The loader returns the listing with `product_reference(id)` where each product goes (and may
    keep the pages it read with keep_product_pages); `load_pages(ids)` reads the pages of products
    the cache has lost. The generations are read before loading, so a listing loaded during a
    change is filed under the generation it may predate and is never served after the change.
    """
    digest = _digest(tuple(sorted(params.items())))
    near_key = f"catalog:{kind}:{digest}"

    def key() -> str:
        return f"catalog:{kind}:{generation()}:{stock_generation() if by_stock else ''}:{digest}"

    near = _near_cache()
    if load_pages is None or near is None:
        entry = _remember(kind, key, load, near_key=near_key)
        return entry if load_pages is None else _filled(entry, load, load_pages)
    # This process keeps the listing filled too, until one of the products it shows changes.
    if (text := near.get(near_key + ":filled")) is not None:
        _lookups(kind, "hit").inc()
        return text
    epoch = near.epoch
    entry = _remember(kind, key, load, near_key=near_key)
    text = _filled(entry, load, load_pages)
    near.put(near_key + ":filled", text, epoch, shows=map(int, PRODUCT_REFERENCE.findall(entry)))
    return text


def _filled(entry: str, load: Callable[[], Any], load_pages: Callable[[list[int]], dict[int, Any]]) -> str:
    filled = _fill(entry, load_pages)
    if filled is None:  # a product it shows is gone: the listing is read again
        filled = _fill(_document(load), load_pages)
    return filled or "null"


def search_words(load: Callable[[], list[str]]) -> str:
    """Every word of every product name (JSON text), kept for the cache timeout, not a catalog
    generation: a word missing for a while only misses a "did you mean", and a stock change must
    not make the next search read every name again."""
    return _remember("search_words", lambda: SEARCH_WORDS_KEY, load, near_key=SEARCH_WORDS_KEY)


def _drop(product_ids: set[int], *tokens: str) -> None:
    keys = [_product_key(product_id) for product_id in product_ids]
    if keys:
        with cache_outage.tolerated("invalidate"):
            cache.delete_many(*keys)
    for token in tokens:
        with cache_outage.tolerated("invalidate"):
            cache.set(token, uuid.uuid4().hex, timeout=0)
    if near := _near_cache():
        near.announce(product_ids, listings=bool(tokens))


def invalidate_products(product_ids: Iterable[int]) -> None:
    """Forget these products' pages and every listing: their details changed (or they are new), so
    any listing may find, sort or show them differently. Call it after the change is committed.

    The change stands even if Redis cannot be reached: what was not dropped expires on its own.
    """
    _drop(set(product_ids), GENERATION_KEY)


def refresh_stock(product_ids: Iterable[int], sold_out_or_back: Iterable[int] = ()) -> None:
    """Forget these products' pages after their stock changed; listings stay, as they show the
    pages as they are served. Those that sold out or came back in stock (`sold_out_or_back`) also
    drop the listings of in-stock products. Call it after the change is committed."""
    _drop(set(product_ids), *([STOCK_GENERATION_KEY] if set(sold_out_or_back) else []))
