from __future__ import annotations

from flask import Blueprint, current_app, request

from ..accounts.auth import current_user
from ..api import Header, operation
from ..errors import Problem
from ..limits import cart_creations
from ..numbers import whole_number
from . import service
from .pricing import PricingPolicy
from .schemas import CartOut, CouponCode, NewItem, QuantityChange

bp = Blueprint("cart", __name__, url_prefix="/api/v1/carts")

IF_MATCH = {"If-Match": Header("The cart's ETag (its version), e.g. \"3\"; a stale one is refused with 412, "
                               "a malformed one with 400",
                               schema={"type": "string", "pattern": r'^(\*|(W/)?"?[0-9]{1,10}"?)$'})}


def pricing_policy() -> PricingPolicy:
    return PricingPolicy.from_config(current_app.config)


def expected_version() -> int | None:
    """The version named by If-Match ("3", "\\"3\\"" or W/"3"), or None when absent."""
    header = request.headers.get("If-Match")
    if not header or header.strip() == "*":
        return None
    version = whole_number(header.strip().removeprefix("W/").strip('"'))
    if version is None:
        raise Problem(400, "Bad request", "If-Match must be the cart's ETag, e.g. \"3\".",
                      type_="bad-if-match", field="If-Match")
    return version


def cart_response(cart, status: int = 200):
    body = {"id": cart.id, "version": cart.version, "customer_id": cart.customer_id,
            **service.quote(cart, pricing_policy()).to_dict()}
    return body, status, {"ETag": f'"{cart.version}"'}


@bp.post("")
@cart_creations
@operation("Create a cart (a guest's, or the logged-in customer's)", tags=["cart"], response=CartOut,
           status=201, auth="optional")
def create_cart():
    return cart_response(service.create_cart(current_user()), 201)


@bp.get("/<cart_id>")
@operation("A cart, priced: lines, discounts, shipping, tax and total", tags=["cart"], response=CartOut,
           auth="optional")
def show_cart(cart_id: str):
    return cart_response(service.get_cart(cart_id, current_user()))


@bp.post("/<cart_id>/items")
@operation("Add a product to the cart", tags=["cart"], body=NewItem, response=CartOut, auth="optional",
           headers=IF_MATCH)
def add_item(cart_id: str, body: NewItem):
    cart = service.add_item(cart_id, current_user(), body.product_id, body.quantity,
                            current_app.config["MAX_LINE_QUANTITY"], expected_version())
    return cart_response(cart)


@bp.patch("/<cart_id>/items/<int:product_id>")
@operation("Change a line's quantity", tags=["cart"], body=QuantityChange, response=CartOut,
           auth="optional", headers=IF_MATCH)
def change_quantity(cart_id: str, product_id: int, body: QuantityChange):
    cart = service.set_quantity(cart_id, current_user(), product_id, body.quantity,
                                current_app.config["MAX_LINE_QUANTITY"], expected_version())
    return cart_response(cart)


@bp.delete("/<cart_id>/items/<int:product_id>")
@operation("Remove a line", tags=["cart"], response=CartOut, auth="optional", headers=IF_MATCH)
def remove_item(cart_id: str, product_id: int):
    return cart_response(service.remove_item(cart_id, current_user(), product_id, expected_version()))


@bp.put("/<cart_id>/coupon")
@operation("Apply a coupon code", tags=["cart"], body=CouponCode, response=CartOut, auth="optional",
           headers=IF_MATCH)
def apply_coupon(cart_id: str, body: CouponCode):
    return cart_response(service.set_coupon(cart_id, current_user(), body.code.upper(), expected_version()))


@bp.delete("/<cart_id>/coupon")
@operation("Remove the coupon", tags=["cart"], response=CartOut, auth="optional", headers=IF_MATCH)
def remove_coupon(cart_id: str):
    return cart_response(service.set_coupon(cart_id, current_user(), None, expected_version()))
