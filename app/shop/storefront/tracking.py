"""Storefront parcel tracking: the public tracking page (a gift's recipient knows the tracking
number and their postal code), and the shipment partial the order page includes."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from ..errors import Problem
from ..limits import tracking_lookups
from ..logistics import queries

bp = Blueprint("tracking", __name__)


@bp.app_template_global()
def shipment_for_order(order_id: int) -> dict | None:
    """For the order page's shipment partial; the page has already checked who may see the order."""
    return queries.shipment_for_order(order_id)


@bp.get("/track")
@tracking_lookups
def track():
    tracking_number = request.args.get("tracking_number", "").strip()
    postal_code = request.args.get("postal_code", "").strip()
    form = {"tracking_number": tracking_number[:64], "postal_code": postal_code[:20]}
    if not tracking_number or not postal_code:
        return render_template("logistics/track.html", form=form, shipment=None, problem=None)
    try:
        shipment = queries.tracked_shipment(tracking_number, postal_code)
    except Problem as problem:
        return render_template("logistics/track.html", form=form, shipment=None, problem=problem), problem.status
    return render_template("logistics/track.html", form=form, shipment=shipment, problem=None)
