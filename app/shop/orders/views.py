"""The orders API: checkout, orders, payments, the staff's moves and refunds, payment webhooks."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, request

from .. import idempotency
from ..accounts.auth import require_customer, require_staff
from ..api import Header, Schema, operation, page_of, parse
from ..cart.views import pricing_policy
from ..errors import PROBLEM_CONTENT_TYPE, Problem
from ..metrics import WEBHOOKS
from . import service
from .gateway import REQUIRES_CONFIRMATION, Card, PaymentGateway, SandboxGateway
from .schemas import (
    CardPayment,
    NewOrder,
    OrderOut,
    OrderPage,
    OrderQuery,
    PaymentResultOut,
    Refund,
    SandboxSettlement,
    SignedEventOut,
    StaffTransition,
    WebhookEventIn,
    WebhookResultOut,
)
from .states import REFUNDED
from .webhooks import SIGNATURE_HEADER, BadSignature, verify

bp = Blueprint("orders", __name__, url_prefix="/api/v1")

IDEMPOTENCY_KEY = {idempotency.HEADER: Header(
    "Makes retries safe: the same key and body replay the first answer (marked Idempotent-Replayed); "
    "kept 24 h. 1 to 255 printable characters",
    schema={"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH, "pattern": "^[ -~]+$"})}


def payment_gateway() -> PaymentGateway:
    """The gateway the shop charges through: the sandbox unless an extension installed another."""
    return current_app.extensions.setdefault("payment_gateway", SandboxGateway())


def answer_once(customer_id: int, body: Schema, work: Callable[[], tuple[Any, int]], headers=None):
    """Run `work` under the request's Idempotency-Key, if it has one, and render its answer."""
    config = current_app.config
    fingerprint = idempotency.fingerprint(config["SECRET_KEY"], request.method, request.path,
                                          body.model_dump_json())
    answer = idempotency.answer_once(customer_id, request.headers.get(idempotency.HEADER), fingerprint,
                                     config["IDEMPOTENCY_TTL_SECONDS"], work)
    headers = dict(headers(answer.body) if headers and answer.status < 400 else {})
    if answer.replayed:
        headers[idempotency.REPLAYED_HEADER] = "true"
    if answer.status >= 400:
        return Response(json.dumps(answer.body), answer.status, headers, mimetype=PROBLEM_CONTENT_TYPE)
    return answer.body, answer.status, headers


@bp.post("/orders")
@operation("Check out a cart: an order pending payment, its stock reserved", tags=["orders"], body=NewOrder,
           response=OrderOut, status=201, auth="customer", headers=IDEMPOTENCY_KEY)
def create_order(body: NewOrder):
    customer = require_customer()
    config = current_app.config

    def place() -> tuple[dict, int]:
        return service.place_order(body.cart_id, customer, body.shipping_address.model_dump(), pricing_policy(),
                                   config["ORDER_RESERVATION_SECONDS"]), 201

    return answer_once(customer.id, body, place,
                       headers=lambda order: {"Location": f"{bp.url_prefix}/orders/{order['id']}"})


@bp.get("/orders")
@operation("Orders, newest first: the customer's own (staff see everyone's)", tags=["orders"],
           query=OrderQuery, response=OrderPage, auth="customer")
def list_orders(query: OrderQuery):
    items, total = service.list_orders(require_customer(), query.page, query.per_page, query.status)
    return page_of(items, total, query)


@bp.get("/orders/<int:order_id>")
@operation("An order with its lines, pricing, history and payments", tags=["orders"], response=OrderOut,
           auth="customer")
def show_order(order_id: int):
    return service.get_order(order_id, require_customer())


@bp.post("/orders/<int:order_id>/cancel")
@operation("Cancel an order (a paid one is refunded); its stock goes back", tags=["orders"],
           response=OrderOut, auth="customer")
def cancel_order(order_id: int):
    return service.cancel_order(order_id, require_customer(), payment_gateway())


@bp.post("/orders/<int:order_id>/transitions")
@operation("Staff: move an order along its states (shipped, delivered, completed, ...)", tags=["orders"],
           body=StaffTransition, response=OrderOut, auth="staff")
def move_order(order_id: int, body: StaffTransition):
    return service.move_order(order_id, require_staff(), body.status, body.cause, payment_gateway())


@bp.post("/orders/<int:order_id>/refund")
@operation("Staff: refund a paid, shipped or delivered order", tags=["orders"], body=Refund,
           response=OrderOut, auth="staff")
def refund_order(order_id: int, body: Refund):
    return service.move_order(order_id, require_staff(), REFUNDED, body.cause, payment_gateway())


@bp.post("/orders/<int:order_id>/payments")
@operation("Pay an order by card (402 when declined; 202 while the bank confirms)", tags=["payments"],
           body=CardPayment, response=PaymentResultOut, status=201, auth="customer", headers=IDEMPOTENCY_KEY)
def pay_order(order_id: int, body: CardPayment):
    customer = require_customer()
    card = Card(body.card_number, body.exp_month, body.exp_year, body.cvc)

    def pay() -> tuple[dict, int]:
        result, status = service.pay_order(order_id, customer, card, payment_gateway())
        return result, 202 if status == REQUIRES_CONFIRMATION else 201

    return answer_once(customer.id, body, pay)


@bp.post("/payments/webhook")
@operation("Receive a payment gateway event, signed in the Shop-Signature header", tags=["payments"],
           response=WebhookResultOut,
           headers={SIGNATURE_HEADER: Header("t=<unix time>,v1=<hex HMAC-SHA256>", required=True)})
def payment_webhook():
    config = current_app.config
    raw = request.get_data(cache=True)
    try:
        # Nothing of an unsigned request is read before its signature is checked.
        verify(raw, request.headers.get(SIGNATURE_HEADER), config["PAYMENT_WEBHOOK_SECRETS"],
               config["PAYMENT_WEBHOOK_TOLERANCE_SECONDS"], int(time.time()))
    except BadSignature:
        WEBHOOKS.labels(outcome="bad_signature").inc()
        raise
    try:
        payload = json.loads(raw)
    except ValueError:
        raise Problem(400, "Malformed JSON", "The event is not valid JSON.", type_="malformed-json",
                      field="body") from None
    event = parse(WebhookEventIn, payload, "body")
    status = service.apply_payment_event(event.id, event.type, event.data.reference, event.data.failure_reason,
                                         payment_gateway())
    WEBHOOKS.labels(outcome=status).inc()
    return {"status": status}


@bp.post("/payments/sandbox-events")
@operation("Staff: the signed webhook the sandbox gateway sends when a payment settles", tags=["payments"],
           body=SandboxSettlement, response=SignedEventOut, auth="staff")
def sandbox_event(body: SandboxSettlement):
    event, signature = service.sandbox_settlement(body.payment_id, body.outcome,
                                                  current_app.config["PAYMENT_WEBHOOK_SECRETS"][0], int(time.time()))
    return {"body": event.decode(), "signature": signature, "header": SIGNATURE_HEADER}
