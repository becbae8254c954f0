from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ..api import Schema
from .carrier import TRACKING_STATUSES
from .models import STATUSES


class CarrierEventIn(BaseModel):
    """A carrier's tracking event; fields the shop does not use are ignored, as carriers add them freely."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=64)
    tracking_number: str = Field(min_length=1, max_length=64)
    status: Literal[TRACKING_STATUSES]  # type: ignore[valid-type]
    at: AwareDatetime
    location: str | None = Field(None, max_length=100)
    detail: str | None = Field(None, max_length=200)


class TrackingQuery(Schema):
    postal_code: str = Field(min_length=1, max_length=20, description="The postal code the parcel goes to")


class TrackingEventOut(BaseModel):
    status: Literal[TRACKING_STATUSES]  # type: ignore[valid-type]
    at: datetime
    location: str | None
    detail: str | None


class ShipmentOut(BaseModel):
    tracking_number: str | None
    carrier: str
    status: Literal[STATUSES]  # type: ignore[valid-type]
    route: list[str] = Field(description="Hub codes from the warehouse to the destination hub")
    eta: datetime | None = Field(description="Estimated delivery; null while unknown")
    events: list[TrackingEventOut]


class CarrierWebhookResultOut(BaseModel):
    status: Literal["applied", "duplicate", "ignored"]
