"""Configuration, read from the environment once (12-factor).

Every setting has an embedded default so the shop runs with no services at all: SQLite in
./instance, an in-process cache and tasks run in-process. Production sets the URLs.
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

INSTANCE_DIR = Path(os.environ.get("SHOP_INSTANCE_DIR", Path.cwd() / "instance"))


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    return default if raw == "" else raw in ("1", "true", "yes", "on")


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


# The laptop-only secrets of the embedded default; a production process refuses to start with them.
DEVELOPMENT_SECRET_KEY = "dev-only-not-secret"
DEVELOPMENT_WEBHOOK_SECRET = "whsec_dev_only"
DEVELOPMENT_SANDBOX_SECRET = "whsec_sandbox_only"
DEVELOPMENT_CARRIER_SECRET = "whsec_carrier_dev_only"


class ConfigurationError(RuntimeError):
    """The environment does not configure the shop well enough to start."""


class Config:
    # Production refuses development secrets at start: SHOP_ENV=production, or any DATABASE_URL set.
    SHOP_PRODUCTION = os.environ.get("SHOP_ENV") == "production" or bool(os.environ.get("DATABASE_URL"))
    # Where orders, products and carts live; unset means SQLite in the instance folder.
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'shop.db'}"
    # A Secrets Manager secret (JSON with username and password) each new database connection
    # logs in with, read when the connection opens, so a rotated password never breaks the shop;
    # DATABASE_URL then names no password. Unset: the login in DATABASE_URL.
    DATABASE_SECRET_ARN = os.environ.get("DATABASE_SECRET_ARN", "")
    # Seconds the secret is kept before new connections read it again (a refused login reads it at once).
    DATABASE_SECRET_MAX_AGE_SECONDS = _env_int("DATABASE_SECRET_MAX_AGE_SECONDS", 300)
    # Product pages and listings are cached here; unset means an in-process cache.
    REDIS_URL = os.environ.get("REDIS_URL", "")
    # Background jobs and order events; unset means tasks run in-process.
    BROKER_URL = os.environ.get("BROKER_URL", "")
    # Signs session cookies and API tokens. The default is for a laptop only.
    SECRET_KEY = os.environ.get("SECRET_KEY") or DEVELOPMENT_SECRET_KEY
    # Payment webhook signing secrets, newest first; older ones still verify during rotation.
    PAYMENT_WEBHOOK_SECRETS = _env_list("PAYMENT_WEBHOOK_SECRETS") or [DEVELOPMENT_WEBHOOK_SECRET]
    # The gateway cards are charged through. Only the sandbox is built in; it is the default on
    # the embedded default (no DATABASE_URL), and a deployment names its gateway.
    PAYMENT_GATEWAY = os.environ.get("PAYMENT_GATEWAY") or ("" if SHOP_PRODUCTION else "sandbox")
    # Signs the sandbox's own settlement events; verifies webhooks only while the sandbox is the gateway.
    SANDBOX_WEBHOOK_SECRET = os.environ.get("SANDBOX_WEBHOOK_SECRET") or DEVELOPMENT_SANDBOX_SECRET
    # The sandbox's bank confirms a charge that needs confirmation (card 4000 0000 0000 3220)
    # this many seconds after it is made.
    SANDBOX_CONFIRMATION_SECONDS = _env_int("SANDBOX_CONFIRMATION_SECONDS", 5)
    # A payment attempt or refund still pending after this many seconds is resolved by the
    # reconciler, which asks the gateway what happened (younger ones may still be in a request).
    PAYMENT_RECONCILE_GRACE_SECONDS = _env_int("PAYMENT_RECONCILE_GRACE_SECONDS", 120)
    # A webhook whose timestamp is further than this from now (either way) is refused.
    PAYMENT_WEBHOOK_TOLERANCE_SECONDS = _env_int("PAYMENT_WEBHOOK_TOLERANCE_SECONDS", 300)
    # The carrier paid orders are shipped by. Only the sandbox is built in; it is the default on
    # the embedded default (no DATABASE_URL), and a deployment names its carrier.
    CARRIER = os.environ.get("CARRIER") or ("" if SHOP_PRODUCTION else "sandbox")
    # Carrier webhook signing secrets, newest first; older ones still verify during rotation.
    CARRIER_WEBHOOK_SECRETS = _env_list("CARRIER_WEBHOOK_SECRETS") or [DEVELOPMENT_CARRIER_SECRET]
    # A carrier webhook whose timestamp is further than this from now (either way) is refused.
    CARRIER_WEBHOOK_TOLERANCE_SECONDS = _env_int("CARRIER_WEBHOOK_TOLERANCE_SECONDS", 300)
    # How often the scheduler moves the sandbox carrier's clock to now (its parcels' due events
    # happen and are pushed as webhooks): the worker's beat, or the web process without a broker.
    SANDBOX_CARRIER_ADVANCE_SECONDS = float(os.environ.get("SANDBOX_CARRIER_ADVANCE_SECONDS", "60"))
    # How many times faster than real time the sandbox's parcels travel: 1 is a real carrier's days;
    # a lab or a demo sets e.g. 20000, and a parcel booked now is delivered within a minute.
    SANDBOX_CARRIER_TIME_SCALE = float(os.environ.get("SANDBOX_CARRIER_TIME_SCALE", "1"))
    # A shipment still booking after this many seconds is finished by the reconciler, which asks
    # the carrier what it booked under the shipment's reference.
    SHIPMENT_RECONCILE_GRACE_SECONDS = _env_int("SHIPMENT_RECONCILE_GRACE_SECONDS", 120)
    # An unpaid order gives its stock back after this many seconds.
    ORDER_RESERVATION_SECONDS = _env_int("ORDER_RESERVATION_SECONDS", 30 * 60)
    # A paid order not shipped within this many seconds is overdue (counted for the on-call alert).
    ORDER_SHIPPING_DEADLINE_SECONDS = _env_int("ORDER_SHIPPING_DEADLINE_SECONDS", 2 * 24 * 3600)
    # A stored Idempotency-Key answer is kept this long.
    IDEMPOTENCY_TTL_SECONDS = _env_int("IDEMPOTENCY_TTL_SECONDS", 24 * 3600)
    # A request answering an Idempotency-Key holds it this long; if it dies, a retry may take it over.
    IDEMPOTENCY_LEASE_SECONDS = _env_int("IDEMPOTENCY_LEASE_SECONDS", 60)
    # The link e-mailed to finish an account on an address a guest checked out with (the guest's
    # orders come with it) works for this many seconds, once.
    ACCOUNT_CLAIM_MAX_AGE_SECONDS = _env_int("ACCOUNT_CLAIM_MAX_AGE_SECONDS", 2 * 24 * 3600)
    # API bearer tokens expire after this many seconds.
    API_TOKEN_MAX_AGE_SECONDS = _env_int("API_TOKEN_MAX_AGE_SECONDS", 7 * 24 * 3600)
    # Seconds a cached product page or listing may live (changes invalidate it sooner). A change made
    # while Redis cannot be reached commits without invalidating (the generation token is not
    # replaced), so once Redis is back what it should have dropped is served until it expires: this
    # bounds that staleness.
    CACHE_TIMEOUT_SECONDS = _env_int("CACHE_TIMEOUT_SECONDS", 300)
    # Longest wait for Redis on one cache operation (connecting or answering); past it the catalog
    # is read from the database, so a hung Redis slows a page by this much instead of stalling it.
    CACHE_SOCKET_TIMEOUT_SECONDS = float(os.environ.get("CACHE_SOCKET_TIMEOUT_SECONDS", "0.5"))
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

    # Rate limits ("N per <period>"); counted in Redis when REDIS_URL is set, else in memory.
    # Failed logins for one account (the e-mail given), from any address.
    RATE_LIMIT_LOGIN_PER_ACCOUNT = os.environ.get("RATE_LIMIT_LOGIN_PER_ACCOUNT", "10 per 15 minutes")
    # Failed logins from one client address, for any accounts.
    RATE_LIMIT_LOGIN_PER_ADDRESS = os.environ.get("RATE_LIMIT_LOGIN_PER_ADDRESS", "50 per 15 minutes")
    # New accounts from one client address.
    RATE_LIMIT_REGISTRATION_PER_ADDRESS = os.environ.get("RATE_LIMIT_REGISTRATION_PER_ADDRESS", "10 per hour")
    # New carts from one client address (the storefront opens one only for a session without one).
    RATE_LIMIT_CART_CREATION_PER_ADDRESS = os.environ.get("RATE_LIMIT_CART_CREATION_PER_ADDRESS", "100 per hour")
    # Payment attempts on one order by one customer: stops testing stolen cards against it.
    RATE_LIMIT_PAYMENT_ATTEMPTS_PER_ORDER = os.environ.get("RATE_LIMIT_PAYMENT_ATTEMPTS_PER_ORDER", "5 per hour")
    # Failed parcel look-ups (wrong tracking number or postal code) from one client address.
    RATE_LIMIT_TRACKING_PER_ADDRESS = os.environ.get("RATE_LIMIT_TRACKING_PER_ADDRESS", "30 per 10 minutes")
    # Proxies in front of the shop whose X-Forwarded-For / X-Forwarded-Proto are believed (0: none).
    # Production behind the load balancer and nginx: PROXY_FIX_X_FOR=2, PROXY_FIX_X_PROTO=1.
    PROXY_FIX_X_FOR = _env_int("PROXY_FIX_X_FOR", 0)
    PROXY_FIX_X_PROTO = _env_int("PROXY_FIX_X_PROTO", 0)
    # The session cookie is sent over HTTPS only; on by default in production.
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", SHOP_PRODUCTION)

    # The event backbone (shop.events). A consumer's failed event is retried after
    # EVENT_RETRY_BASE_SECONDS * 2^(retry-1), capped at EVENT_RETRY_MAX_SECONDS, half of it random.
    EVENT_RETRY_BASE_SECONDS = float(os.environ.get("EVENT_RETRY_BASE_SECONDS", "2"))
    EVENT_RETRY_MAX_SECONDS = float(os.environ.get("EVENT_RETRY_MAX_SECONDS", "300"))
    # A consumer's handler running longer than this fails (and is retried) and frees the worker.
    EVENT_CONSUMER_TIME_LIMIT_SECONDS = float(os.environ.get("EVENT_CONSUMER_TIME_LIMIT_SECONDS", "60"))
    # Events a worker holds unacknowledged per consumer queue (more is faster; a crash redelivers them).
    EVENT_CONSUMER_PREFETCH = _env_int("EVENT_CONSUMER_PREFETCH", 20)
    # A background task is sent an exception after the soft limit (it may clean up) and its worker
    # process is killed after the hard limit; with late acks the task is then redelivered.
    TASK_SOFT_TIME_LIMIT_SECONDS = _env_int("TASK_SOFT_TIME_LIMIT_SECONDS", 240)
    TASK_TIME_LIMIT_SECONDS = _env_int("TASK_TIME_LIMIT_SECONDS", 300)

    # Customer service (shop.support). The ticket classifier is saved here (trained from the shipped
    # corpus on first use when absent; `flask support train` retrains it with the staff's corrections).
    SUPPORT_MODEL_PATH = os.environ.get("SUPPORT_MODEL_PATH") or str(INSTANCE_DIR / "support-classifier.joblib")
    # A new ticket the classifier is less sure of than this (0..1) goes to "other" for triage by staff.
    SUPPORT_CONFIDENCE_THRESHOLD = float(os.environ.get("SUPPORT_CONFIDENCE_THRESHOLD", "0.35"))
    # A ticket about an order of at least this total (minor units) is answered one priority sooner.
    SUPPORT_LARGE_ORDER_CENTS = _env_int("SUPPORT_LARGE_ORDER_CENTS", 20000)

    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    JSON_SORT_KEYS = False
    SESSION_COOKIE_HTTPONLY = True
    # The locale prices are written for (Babel), e.g. en_GB -> €45.99, de_DE -> 45,99 €.
    SHOP_LOCALE = os.environ.get("SHOP_LOCALE", "en_GB")
    # Shelf prices (listings, product pages) shown with tax included (true) or before tax.
    PRICES_INCLUDE_TAX = _env_bool("PRICES_INCLUDE_TAX", False)
    # How long "Keep me logged in" keeps a storefront login (without it: until the browser closes).
    PERMANENT_SESSION_LIFETIME = timedelta(days=_env_int("SESSION_LIFETIME_DAYS", 30))
    SESSION_COOKIE_SAMESITE = "Lax"
    TESTING = False


class TestConfig(Config):
    TESTING = True
    SHOP_PRODUCTION = False
    SESSION_COOKIE_SECURE = False
    SECRET_KEY = "test-secret"
    PAYMENT_WEBHOOK_SECRETS = ["whsec_test_new", "whsec_test_old"]
    PAYMENT_GATEWAY = "sandbox"
    SANDBOX_WEBHOOK_SECRET = "whsec_test_sandbox"
    CARRIER = "sandbox"
    CARRIER_WEBHOOK_SECRETS = ["whsec_test_carrier_new", "whsec_test_carrier_old"]
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    DATABASE_SECRET_ARN = ""
    REDIS_URL = ""
    BROKER_URL = ""
    CATALOG_NEAR_CACHE_SECONDS = 0.0
    # One model file for the whole test run (trained once, then loaded), outside the source tree.
    SUPPORT_MODEL_PATH = str(Path(tempfile.gettempdir()) / "shopstack-tests" / "support-classifier.joblib")


def refuse_development_secrets(config) -> None:
    """A production process must not sign sessions or trust webhooks with the laptop's secrets."""
    if not config.get("SHOP_PRODUCTION"):
        return
    why = "SHOP_ENV=production" if os.environ.get("SHOP_ENV") == "production" else "DATABASE_URL is set"
    if config.get("SECRET_KEY") in (None, "", DEVELOPMENT_SECRET_KEY):
        raise ConfigurationError(f"Set SECRET_KEY to a long random value: {why}, and the development "
                                 "key would let anyone forge sessions and API tokens.")
    webhook_secrets = config.get("PAYMENT_WEBHOOK_SECRETS") or []
    if not webhook_secrets or DEVELOPMENT_WEBHOOK_SECRET in webhook_secrets or not all(webhook_secrets):
        raise ConfigurationError(f"Set PAYMENT_WEBHOOK_SECRETS to the payment gateway's signing secrets: {why}, "
                                 "and the development secret would let anyone forge payment webhooks.")
    if config.get("PAYMENT_GATEWAY") == "sandbox" and config.get("SANDBOX_WEBHOOK_SECRET") in (
            None, "", DEVELOPMENT_SANDBOX_SECRET):
        raise ConfigurationError(f"Set SANDBOX_WEBHOOK_SECRET to a long random value: {why} with the sandbox "
                                 "gateway, and the development secret would let anyone mark orders paid.")
    carrier_secrets = config.get("CARRIER_WEBHOOK_SECRETS") or []
    if config.get("CARRIER") and (not carrier_secrets or DEVELOPMENT_CARRIER_SECRET in carrier_secrets
                                  or not all(carrier_secrets)):
        raise ConfigurationError(f"Set CARRIER_WEBHOOK_SECRETS to the carrier's signing secrets: {why} with a "
                                 "carrier, and the development secret would let anyone mark parcels delivered.")
