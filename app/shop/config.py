"""Configuration, read from the environment once (12-factor).

Every setting has an embedded default so the shop runs with no services at all: SQLite in
./instance, an in-process cache and tasks run in-process. Production sets the URLs.
"""

from __future__ import annotations

import os
from pathlib import Path

INSTANCE_DIR = Path(os.environ.get("SHOP_INSTANCE_DIR", Path.cwd() / "instance"))


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


class Config:
    # Where orders, products and carts live; unset means SQLite in the instance folder.
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'shop.db'}"
    # Product pages and listings are cached here; unset means an in-process cache.
    REDIS_URL = os.environ.get("REDIS_URL", "")
    # Background jobs and order events; unset means tasks run in-process.
    BROKER_URL = os.environ.get("BROKER_URL", "")
    # Signs session cookies and API tokens. The default is for a laptop only.
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    # Payment webhook signing secrets, newest first; older ones still verify during rotation.
    PAYMENT_WEBHOOK_SECRETS = _env_list("PAYMENT_WEBHOOK_SECRETS") or ["whsec_dev_only"]
    # A webhook whose timestamp is further than this from now (either way) is refused.
    PAYMENT_WEBHOOK_TOLERANCE_SECONDS = _env_int("PAYMENT_WEBHOOK_TOLERANCE_SECONDS", 300)
    # An unpaid order gives its stock back after this many seconds.
    ORDER_RESERVATION_SECONDS = _env_int("ORDER_RESERVATION_SECONDS", 30 * 60)
    # A stored Idempotency-Key answer is kept this long.
    IDEMPOTENCY_TTL_SECONDS = _env_int("IDEMPOTENCY_TTL_SECONDS", 24 * 3600)
    # API bearer tokens expire after this many seconds.
    API_TOKEN_MAX_AGE_SECONDS = _env_int("API_TOKEN_MAX_AGE_SECONDS", 7 * 24 * 3600)
    # Seconds a cached product page or listing may live (changes invalidate it sooner).
    CACHE_TIMEOUT_SECONDS = _env_int("CACHE_TIMEOUT_SECONDS", 300)
    # Seconds a process keeps hot catalog documents in its own memory in front of Redis (0: off).
    # Changes reach every process at once over Redis pub/sub; this only bounds a stalled listener.
    CATALOG_NEAR_CACHE_SECONDS = float(os.environ.get("CATALOG_NEAR_CACHE_SECONDS", "5"))
    # The shop's currency; all money is integer minor units of it.
    SHOP_CURRENCY = os.environ.get("SHOP_CURRENCY", "EUR")
    # Sales tax in basis points (2000 = 20 %), applied after discounts.
    TAX_RATE_BPS = _env_int("TAX_RATE_BPS", 2000)
    # Flat shipping fee, waived by a free-shipping promotion or coupon.
    SHIPPING_FLAT_CENTS = _env_int("SHIPPING_FLAT_CENTS", 499)
    # The release serving this process, shown by /healthz (set by the deploy).
    SHOP_RELEASE = os.environ.get("SHOP_RELEASE", "dev")
    # Largest page a list endpoint serves.
    MAX_PER_PAGE = 100
    # Largest request body in bytes (1 MiB); a larger one is refused with 413 before it is read.
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 1024 * 1024)
    # Largest quantity of one product a cart line may hold.
    MAX_LINE_QUANTITY = _env_int("MAX_LINE_QUANTITY", 999)

    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    JSON_SORT_KEYS = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    TESTING = False


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    PAYMENT_WEBHOOK_SECRETS = ["whsec_test_new", "whsec_test_old"]
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    REDIS_URL = ""
    BROKER_URL = ""
    CATALOG_NEAR_CACHE_SECONDS = 0.0
