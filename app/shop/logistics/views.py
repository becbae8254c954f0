"""The logistics API: an order's shipment, public tracking, and the carriers' webhooks."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, request

from .. import extensions
from ..accounts.auth import require_customer
from ..api import Header, operation
from ..errors import NotFound
from ..limits import tracking_lookups
from ..payments.webhooks import SIGNATURE_HEADER
from . import queries, tracking
from .schemas import CarrierWebhookResultOut, ShipmentOut, TrackingQuery
from .webhooks import read_signed_event

bp = Blueprint("logistics", __name__, url_prefix="/api/v1")


@bp.get("/orders/<int:order_id>/shipment")
@operation("The order's shipment: tracking number, route, ETA and timeline (the owner's or staff's)",
           tags=["logistics"], response=ShipmentOut, auth="customer")
def order_shipment(order_id: int):
    return queries.order_shipment(order_id, require_customer())


@bp.get("/shipments/<tracking_number>")
@tracking_lookups
@operation("Track a parcel by its tracking number and destination postal code (404 if either is wrong)",
           tags=["logistics"], query=TrackingQuery, response=ShipmentOut)
def track_shipment(tracking_number: str, query: TrackingQuery):
    return queries.tracked_shipment(tracking_number, query.postal_code)


@bp.post("/carriers/<carrier>/webhook")
@operation("Receive a carrier's tracking event, signed in the Shop-Signature header", tags=["logistics"],
           response=CarrierWebhookResultOut,
           headers={SIGNATURE_HEADER: Header("t=<unix time>,v1=<hex HMAC-SHA256>", required=True)})
def carrier_webhook(carrier: str):
    shipping = extensions.carrier()
    if shipping is None or shipping.name != carrier:
        raise NotFound("Carrier", carrier[:64])
    config = current_app.config
    event = read_signed_event(request.get_data(cache=True), request.headers.get(SIGNATURE_HEADER),
                              config["CARRIER_WEBHOOK_SECRETS"], config["CARRIER_WEBHOOK_TOLERANCE_SECONDS"],
                              int(time.time()))
    return {"status": tracking.record_carrier_events(carrier, [event], "webhook")}
