"""The purchase journey through the load balancer, as a customer makes it, with the sandbox card.

register -> log in -> find a product in stock -> cart -> add it -> check out -> pay -> order paid.
Every call must answer as documented (``/api/v1/openapi.json``); the first that does not fails the
journey with the call, its status and its answer.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from pipelines.runner import StepFailed

API = "/api/v1"
# The sandbox gateway charges any valid card number but its published declining ones.
SANDBOX_CARD_NUMBER = "4242424242424242"
SANDBOX_CARD = {"card_number": SANDBOX_CARD_NUMBER, "exp_month": 12, "cvc": "123"}
# Within the sandbox carrier's network (a postal code it does not serve leaves the parcel unroutable).
ADDRESS = {"name": "Smoke Test", "line1": "1 Release Street", "city": "London", "postal_code": "SW1A 1AA",
           "country": "GB"}


@dataclass
class Journey:
    base_url: str
    session: requests.Session = field(default_factory=requests.Session)
    steps: list[str] = field(default_factory=list)

    def call(self, step: str, method: str, path: str, expect: tuple[int, ...], **kwargs: Any) -> requests.Response:
        try:
            reply = self.session.request(method, f"{self.base_url}{path}", timeout=15, **kwargs)
        except requests.RequestException as error:
            raise StepFailed(f"smoke test, {step}: {method} {path} failed: {error}") from error
        if reply.status_code not in expect:
            raise StepFailed(f"smoke test, {step}: {method} {path} answered {reply.status_code}: {reply.text[:300]}")
        self.steps.append(step)
        return reply


def purchase(base_url: str, release: str | None = None) -> str:
    """Run the journey against ``base_url``; returns what it did, raises StepFailed at the first miss."""
    journey = Journey(base_url.rstrip("/"))
    health = journey.call("liveness", "GET", "/healthz", (200,)).json()
    if release and health.get("release") != release:
        raise StepFailed(f"smoke test: /healthz serves release {health.get('release')}, not {release}")
    order, product = buy(journey)
    return (f"purchase journey ok on {health.get('release')}: {' -> '.join(journey.steps)} "
            f"(order {order['id']}, {product['name']})")


def buy(journey: Journey, address: dict[str, str] = ADDRESS) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new customer buys a product in stock and pays with the sandbox card: the paid order and
    the product. The journey's session keeps the customer's token."""
    register(journey)
    order, product = place_order(journey, address)
    pay(journey, order)
    order = journey.call("see the order", "GET", f"{API}/orders/{order['id']}", (200,)).json()
    if order["status"] != "paid":
        raise StepFailed(f"smoke test: order {order['id']} is {order['status']!r} after paying, not 'paid'")
    return order, product


def register(journey: Journey) -> None:
    """A new customer registers and logs in; the journey's session keeps its token."""
    email, password = f"smoke-{uuid.uuid4().hex[:12]}@shopstack.dev", secrets.token_urlsafe(16)
    journey.call("register", "POST", f"{API}/auth/register", (201,),
                 json={"email": email, "password": password, "name": "Smoke Test"})
    token = journey.call("log in", "POST", f"{API}/auth/login", (200,),
                         json={"email": email, "password": password}).json()["token"]
    journey.session.headers["Authorization"] = f"Bearer {token}"


def place_order(journey: Journey, address: dict[str, str] = ADDRESS) -> tuple[dict[str, Any], dict[str, Any]]:
    """The customer puts a product in stock in a new cart and checks out: the order and the product."""
    products = journey.call("browse", "GET", f"{API}/products", (200,), params={"per_page": 50}).json()["items"]
    product = next((p for p in products if p["stock"] > 0), None)
    if product is None:
        raise StepFailed("smoke test: no product in stock on the first page of the catalog")
    cart = journey.call("new cart", "POST", f"{API}/carts", (201,))
    cart = journey.call("add to cart", "POST", f"{API}/carts/{cart.json()['id']}/items", (200, 201),
                        json={"product_id": product["id"], "quantity": 1}, headers={"If-Match": cart.headers["ETag"]})
    order = journey.call("check out", "POST", f"{API}/orders", (201,),
                         json={"cart_id": cart.json()["id"], "shipping_address": address},
                         headers={"Idempotency-Key": uuid.uuid4().hex}).json()
    return order, product


def pay(journey: Journey, order: dict[str, Any], card_number: str = SANDBOX_CARD_NUMBER,
        expect: tuple[int, ...] = (201,)) -> requests.Response:
    """The customer pays the order by card (the sandbox's published numbers choose the outcome)."""
    card = {**SANDBOX_CARD, "card_number": card_number, "exp_year": datetime.now(UTC).year + 3}
    return journey.call("pay", "POST", f"{API}/orders/{order['id']}/payments", expect, json=card,
                        headers={"Idempotency-Key": uuid.uuid4().hex})
