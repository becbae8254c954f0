"""The payments API: paying an order by card, the gateway's webhooks, and (only while the
sandbox gateway is the configured one) the sandbox's settlement events."""

from __future__ import annotations

import json
import time

from flask import Blueprint, current_app, request

from ..accounts.auth import require_customer
from ..api import IDEMPOTENCY_KEY, Header, answer_once, operation, parse
from ..errors import Problem
from ..extensions import payment_gateway
from ..idempotency import HEADER
from ..limits import payment_attempts
from ..metrics import WEBHOOKS
from . import service
from .gateway import REQUIRES_CONFIRMATION, Card
from .schemas import CardPayment, PaymentResultOut, SandboxSettlement, SignedEventOut, WebhookEventIn, WebhookResultOut
from .webhooks import SIGNATURE_HEADER, BadSignature, verify

bp = Blueprint("payments", __name__, url_prefix="/api/v1")
# Registered only when PAYMENT_GATEWAY is the sandbox: it signs events that mark orders paid.
sandbox_bp = Blueprint("sandbox_payments", __name__, url_prefix="/api/v1")


def webhook_secrets() -> list[str]:
    """The secrets a webhook may be signed with: the gateway's, and the sandbox's only while the
    sandbox is the gateway."""
    config = current_app.config
    sandbox = [config["SANDBOX_WEBHOOK_SECRET"]] if config["PAYMENT_GATEWAY"] == "sandbox" else []
    return config["PAYMENT_WEBHOOK_SECRETS"] + sandbox


@bp.post("/orders/<int:order_id>/payments")
@payment_attempts
@operation("Pay an order by card (402 when declined; 202 while the bank confirms)", tags=["payments"],
           body=CardPayment, response=PaymentResultOut, status=201, auth="customer", headers=IDEMPOTENCY_KEY)
def pay_order(order_id: int, body: CardPayment):
    customer = require_customer()
    card = Card(body.card_number, body.exp_month, body.exp_year, body.cvc)

    def pay() -> dict:
        result, _status = service.pay_order(order_id, customer, card, payment_gateway(), request.headers.get(HEADER))
        return result

    return answer_once(customer.id, body, pay, status_of=lambda result: 202 if result["payment"]["status"]
                       == REQUIRES_CONFIRMATION else 201)


@bp.post("/payments/webhook")
@operation("Receive a payment gateway event, signed in the Shop-Signature header", tags=["payments"],
           response=WebhookResultOut,
           headers={SIGNATURE_HEADER: Header("t=<unix time>,v1=<hex HMAC-SHA256>", required=True)})
def payment_webhook():
    raw = request.get_data(cache=True)
    try:
        # Nothing of an unsigned request is read before its signature is checked.
        verify(raw, request.headers.get(SIGNATURE_HEADER), webhook_secrets(),
               current_app.config["PAYMENT_WEBHOOK_TOLERANCE_SECONDS"], int(time.time()))
    except BadSignature:
        WEBHOOKS.labels(outcome="bad_signature").inc()
        raise
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):
        raise Problem(400, "Malformed JSON", "The event is not valid JSON.", type_="malformed-json",
                      field="body") from None
    event = parse(WebhookEventIn, payload, "body")
    status = service.apply_payment_event(event.id, event.type, event.data.reference, event.data.failure_reason,
                                         payment_gateway())
    WEBHOOKS.labels(outcome=status).inc()
    return {"status": status}


@sandbox_bp.post("/payments/sandbox-events")
@operation("Staff: the signed webhook the sandbox gateway sends when a payment settles", tags=["payments"],
           body=SandboxSettlement, response=SignedEventOut, auth="staff")
def sandbox_event(body: SandboxSettlement):
    event, signature = service.sandbox_settlement(body.payment_id, body.outcome,
                                                  current_app.config["SANDBOX_WEBHOOK_SECRET"], int(time.time()))
    return {"body": event.decode(), "signature": signature, "header": SIGNATURE_HEADER}
