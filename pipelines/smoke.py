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
SANDBOX_CARD = {"card_number": "4242424242424242", "exp_month": 12, "cvc": "123"}
ADDRESS = {"name": "Smoke Test", "line1": "1 Release Street", "city": "Lyon", "postal_code": "69001", "country": "FR"}


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
    email, password = f"smoke-{uuid.uuid4().hex[:12]}@shopstack.dev", secrets.token_urlsafe(16)
    journey.call("register", "POST", f"{API}/auth/register", (201,),
                 json={"email": email, "password": password, "name": "Smoke Test"})
    token = journey.call("log in", "POST", f"{API}/auth/login", (200,),
                         json={"email": email, "password": password}).json()["token"]
    journey.session.headers["Authorization"] = f"Bearer {token}"
    products = journey.call("browse", "GET", f"{API}/products", (200,), params={"per_page": 50}).json()["items"]
    product = next((p for p in products if p["stock"] > 0), None)
    if product is None:
        raise StepFailed("smoke test: no product in stock on the first page of the catalog")
    cart = journey.call("new cart", "POST", f"{API}/carts", (201,))
    cart = journey.call("add to cart", "POST", f"{API}/carts/{cart.json()['id']}/items", (200, 201),
                        json={"product_id": product["id"], "quantity": 1}, headers={"If-Match": cart.headers["ETag"]})
    order = journey.call("check out", "POST", f"{API}/orders", (201,),
                         json={"cart_id": cart.json()["id"], "shipping_address": ADDRESS},
                         headers={"Idempotency-Key": uuid.uuid4().hex}).json()
    card = {**SANDBOX_CARD, "exp_year": datetime.now(UTC).year + 3}
    journey.call("pay", "POST", f"{API}/orders/{order['id']}/payments", (201,), json=card,
                 headers={"Idempotency-Key": uuid.uuid4().hex})
    status = journey.call("see the order", "GET", f"{API}/orders/{order['id']}", (200,)).json()["status"]
    if status != "paid":
        raise StepFailed(f"smoke test: order {order['id']} is {status!r} after paying, not 'paid'")
    return (f"purchase journey ok on {health.get('release')}: {' -> '.join(journey.steps)} "
            f"(order {order['id']}, {product['name']})")
