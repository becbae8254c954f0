"""Rate limits: password guessing per account and per address, sign-ups, carts, and card testing.

The limiter's windows are moved on by the test, never waited for: the in-memory storage's clock is
the test's (sqlite), and on Redis (postgresql) a passed window is its counters expiring.
"""

from __future__ import annotations

import time

import pytest
import redis
from limits.storage import MemoryStorage

from shop.limits import limiter

from .factories import PASSWORD, auth_headers, make_order, make_product, make_user
from .test_payments import GOOD_CARD
from .test_storefront_checkout import add_to_cart, csrf

DECLINED = {**GOOD_CARD, "card_number": "4000000000000002"}


class LimiterClock:
    def __init__(self, app, monkeypatch):
        self.app = app
        self.now = time.time()
        monkeypatch.setattr("limits.storage.memory.time", self)

    def time(self) -> float:
        return self.now

    def pass_window(self) -> None:
        if isinstance(limiter.storage, MemoryStorage):
            self.now += 24 * 3600
            return
        with redis.Redis.from_url(self.app.config["REDIS_URL"]) as client:
            for key in client.scan_iter("LIMITS*"):
                client.delete(key)


@pytest.fixture
def clock(app, monkeypatch) -> LimiterClock:
    return LimiterClock(app, monkeypatch)


def api_login(client, email: str, password: str, address: str = "192.0.2.1"):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def limit_of(app, setting: str) -> int:
    return int(app.config[setting].split()[0])


def assert_too_many(response) -> None:
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 429
    assert response.json["detail"].startswith("Too many")
    assert int(response.headers["Retry-After"]) > 0


def test_failed_logins_for_one_account_are_refused_then_even_the_right_password_until_the_window_passes(
        app, client, clock):
    user = make_user()
    allowed = limit_of(app, "RATE_LIMIT_LOGIN_PER_ACCOUNT")
    # From ever new addresses: only the per-account limit can stop them.
    for attempt in range(allowed):
        assert api_login(client, user.email, "wrong-guess", f"198.51.100.{attempt}").status_code == 401
    assert_too_many(api_login(client, user.email, "wrong-guess", "203.0.113.1"))
    assert_too_many(api_login(client, user.email, PASSWORD, "203.0.113.2"))
    clock.pass_window()
    assert api_login(client, user.email, PASSWORD, "203.0.113.3").status_code == 200


def test_the_account_limit_counts_the_email_as_login_finds_it(app, client, clock):
    user = make_user(email="case@example.com")
    app.config["RATE_LIMIT_LOGIN_PER_ACCOUNT"] = "2 per 15 minutes"
    for attempt, spelling in enumerate(["case@example.com", " CASE@example.com "]):
        assert api_login(client, spelling, "wrong-guess", f"198.51.100.{attempt}").status_code == 401
    assert_too_many(api_login(client, user.email, PASSWORD))


def test_failed_logins_from_one_address_are_refused_for_any_account(app, client, clock):
    user = make_user()
    app.config["RATE_LIMIT_LOGIN_PER_ADDRESS"] = "3 per 15 minutes"
    for attempt in range(3):
        assert api_login(client, f"someone{attempt}@example.com", "wrong-guess").status_code == 401
    assert_too_many(api_login(client, user.email, PASSWORD))
    assert api_login(client, user.email, PASSWORD, address="192.0.2.200").status_code == 200
    clock.pass_window()
    assert api_login(client, user.email, PASSWORD).status_code == 200


def test_successful_logins_are_not_counted(app, client, clock):
    user = make_user()
    app.config["RATE_LIMIT_LOGIN_PER_ACCOUNT"] = "2 per 15 minutes"
    for _ in range(3):
        assert api_login(client, user.email, PASSWORD).status_code == 200


def test_the_storefront_login_shares_the_account_limit_and_shows_a_friendly_page(app, client, clock):
    user = make_user()
    app.config["RATE_LIMIT_LOGIN_PER_ACCOUNT"] = "2 per 15 minutes"
    for attempt in range(2):
        assert api_login(client, user.email, "wrong-guess", f"198.51.100.{attempt}").status_code == 401
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": csrf(client)})
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert "Too many failed logins" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0


def test_registrations_from_one_address_are_limited(app, client, clock):
    app.config["RATE_LIMIT_REGISTRATION_PER_ADDRESS"] = "2 per hour"

    def register(number: int):
        return client.post("/api/v1/auth/register",
                           json={"email": f"new{number}@example.com", "password": "long enough", "name": "New"})

    assert [register(number).status_code for number in range(2)] == [201, 201]
    assert_too_many(register(2))
    clock.pass_window()
    assert register(3).status_code == 201


def test_cart_creation_from_one_address_is_limited(app, client, clock):
    app.config["RATE_LIMIT_CART_CREATION_PER_ADDRESS"] = "2 per hour"
    assert [client.post("/api/v1/carts").status_code for _ in range(2)] == [201, 201]
    assert_too_many(client.post("/api/v1/carts"))
    assert client.post("/api/v1/carts", environ_base={"REMOTE_ADDR": "192.0.2.77"}).status_code == 201


def test_storefront_sessions_share_the_cart_creation_limit_but_a_session_with_a_cart_is_not_counted(
        app, clock):
    product = make_product()
    app.config["RATE_LIMIT_CART_CREATION_PER_ADDRESS"] = "2 per hour"
    shopper = app.test_client()
    assert add_to_cart(shopper, product.id).status_code == 302
    assert add_to_cart(app.test_client(), product.id).status_code == 302
    assert add_to_cart(shopper, product.id).status_code == 302  # the shopper's cart exists: not a new one
    refused = add_to_cart(app.test_client(), product.id)
    assert refused.status_code == 429
    assert "Too many new carts" in refused.get_data(as_text=True)


def pay(client, customer, order_id: int, card: dict):
    return client.post(f"/api/v1/orders/{order_id}/payments", json=card, headers=auth_headers(customer))


def test_payment_attempts_on_one_order_are_limited_even_for_a_good_card(app, client, clock):
    customer = make_user()
    order_id = make_order(customer)["id"]
    allowed = limit_of(app, "RATE_LIMIT_PAYMENT_ATTEMPTS_PER_ORDER")
    for _ in range(allowed):
        assert pay(client, customer, order_id, DECLINED).status_code == 402
    assert_too_many(pay(client, customer, order_id, GOOD_CARD))
    clock.pass_window()
    assert pay(client, customer, order_id, GOOD_CARD).status_code == 201


def test_another_orders_payment_attempts_are_counted_apart(app, client, clock):
    customer = make_user()
    app.config["RATE_LIMIT_PAYMENT_ATTEMPTS_PER_ORDER"] = "1 per hour"
    first, second = make_order(customer)["id"], make_order(customer)["id"]
    assert pay(client, customer, first, DECLINED).status_code == 402
    assert_too_many(pay(client, customer, first, GOOD_CARD))
    assert pay(client, customer, second, GOOD_CARD).status_code == 201


def test_a_strangers_attempts_do_not_use_up_the_customers_tries(app, client, clock):
    customer, stranger = make_user(), make_user()
    app.config["RATE_LIMIT_PAYMENT_ATTEMPTS_PER_ORDER"] = "1 per hour"
    order_id = make_order(customer)["id"]
    for _ in range(3):
        assert pay(client, stranger, order_id, GOOD_CARD).status_code == 404
    assert pay(client, customer, order_id, GOOD_CARD).status_code == 201


def test_the_storefront_pay_form_shares_the_order_limit(app, client, clock):
    customer = make_user()
    app.config["RATE_LIMIT_PAYMENT_ATTEMPTS_PER_ORDER"] = "1 per hour"
    order_id = make_order(customer)["id"]
    assert pay(client, customer, order_id, DECLINED).status_code == 402
    client.post("/login", data={"email": customer.email, "password": PASSWORD, "csrf_token": csrf(client)})
    form = {"card_number": GOOD_CARD["card_number"], "exp_month": "12", "exp_year": "2099", "cvc": "123",
            "csrf_token": csrf(client, f"/orders/{order_id}")}
    refused = client.post(f"/orders/{order_id}/pay", data=form)
    assert refused.status_code == 429
    assert "Too many payment attempts" in refused.get_data(as_text=True)


def test_a_limited_view_says_its_limit_and_an_unlimited_one_says_none(client):
    limited = client.post("/api/v1/carts")
    assert limited.status_code == 201
    assert int(limited.headers["X-RateLimit-Remaining"]) >= 0
    product = make_product()
    assert "X-RateLimit-Limit" not in client.get(f"/api/v1/products/{product.id}").headers
