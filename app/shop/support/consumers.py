"""The backbone events customer service acts on: a parcel the carrier could not deliver opens (or
updates) the order's ticket, and so does a refund. The backbone skips events a consumer has
already handled (its inbox) and commits the ticket's change with the inbox row, so a duplicated
event has one effect."""

from __future__ import annotations

from flask import current_app

from .. import events
from . import service


def policy() -> service.SupportPolicy:
    # Consumers run in an app context (the worker's, or the relay's in-process).
    return service.SupportPolicy.from_config(current_app.config)


@events.consumer("support.delivery_problem", "shipment.delivery_failed")
def ticket_for_delivery_problem(event: events.Event) -> None:
    payload = event.payload
    service.note_delivery_problem(int(payload["order_id"]), str(payload.get("status", "failed_delivery")),
                                  payload.get("detail"), policy(), event.occurred_at)


@events.consumer("support.refund", "payment.refunded")
def ticket_for_refund(event: events.Event) -> None:
    payload = event.payload
    service.note_refund(int(payload["order_id"]), int(payload["amount_cents"]), str(payload["currency"]), policy(),
                        event.occurred_at)
