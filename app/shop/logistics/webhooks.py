"""Carrier webhooks, signed as the payment gateway's are (payments.webhooks: HMAC over the
timestamp and the raw body, a tolerance, several secrets for rotation); the event id makes a
replay a duplicate."""

from __future__ import annotations

import json

from pydantic import ValidationError

from ..errors import Problem, validation_problem
from ..payments.webhooks import verify
from .carrier import CarrierEvent
from .schemas import CarrierEventIn


def read_signed_event(raw: bytes, signature: str | None, secrets: list[str], tolerance_seconds: int,
                      now: int) -> CarrierEvent:
    """The event in a webhook body, once its signature is checked (nothing unsigned is read)."""
    verify(raw, signature, secrets, tolerance_seconds, now)
    try:
        event = CarrierEventIn.model_validate(json.loads(raw))
    except (ValueError, RecursionError) as error:
        if isinstance(error, ValidationError):
            raise validation_problem(error, "body") from None
        raise Problem(400, "Malformed JSON", "The event is not valid JSON.", type_="malformed-json",
                      field="body") from None
    return CarrierEvent(event.id, event.tracking_number, event.status, event.at, event.location, event.detail)
