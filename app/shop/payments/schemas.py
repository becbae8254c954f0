from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from ..api import Id, Schema
from ..orders.schemas import OrderOut, PaymentOut


class CardPayment(Schema):
    card_number: str = Field(min_length=12, max_length=19, pattern=r"^[0-9]+$")
    exp_month: StrictInt = Field(ge=1, le=12)
    exp_year: StrictInt = Field(ge=2000, le=2100)
    cvc: str = Field(min_length=3, max_length=4, pattern=r"^[0-9]+$")


class SandboxSettlement(Schema):
    payment_id: Id
    outcome: Literal["succeeded", "failed"] = "succeeded"


class WebhookData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    reference: str = Field(min_length=1, max_length=64)
    failure_reason: str | None = Field(None, max_length=200)


class WebhookEventIn(BaseModel):
    """A gateway event; fields the shop does not use are ignored, as gateways add them freely."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=64)
    type: str = Field(min_length=1, max_length=64)
    data: WebhookData


class PaymentResultOut(BaseModel):
    payment: PaymentOut
    order: OrderOut


class SignedEventOut(BaseModel):
    body: str
    signature: str
    header: str


class WebhookResultOut(BaseModel):
    status: str
    detail: str | None = None
