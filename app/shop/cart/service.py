"""Carts: who may see them, what is in them, and what they cost.

Every change bumps the cart's version under its lock, so two concurrent edits are applied one
after the other (or the stale one is refused when the client sent If-Match), never lost.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, or_, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ..accounts.models import User
from ..catalog.models import Product
from ..columns import UtcDateTime, utcnow
from ..database import matched
from ..errors import Conflict, NotFound, Problem
from ..extensions import db
from ..metrics import CART_CONFLICTS
from .models import Cart, CartLine, Coupon, Promotion
from .pricing import CouponRule, PricedItem, PricingPolicy, PromotionRule, Quote, price

# Where a cart change leaves the promotions it read for the cart's quote (in the session's info).
PROMOTIONS_FOR_QUOTE = "promotions-for-quote"


class StaleCart(Problem):
    def __init__(self, current_version: int):
        super().__init__(412, "Precondition failed",
                         f"The cart changed; its current version is {current_version}. "
                         "Fetch it again and retry.", type_="stale-cart", current_version=current_version)


def create_cart(customer: User | None) -> Cart:
    cart = Cart(id=secrets.token_hex(16), customer_id=customer.id if customer else None)
    db.session.add(cart)
    db.session.commit()
    return cart


def get_cart(cart_id: str, customer: User | None) -> Cart:
    """The cart if the caller may see it, read with its lines and their products (what pricing
    reads) in one statement. Someone else's cart is reported as missing (404)."""
    cart = db.session.get(Cart, cart_id, options=[joinedload(Cart.lines)])
    if cart is None or cart.status != "open":
        raise NotFound("Cart", cart_id)
    if cart.customer_id is not None and (customer is None or customer.id != cart.customer_id):
        raise NotFound("Cart", cart_id)
    return cart


def _visible_to(customer: User | None) -> ColumnElement[bool]:
    """A guest's cart is anyone's who holds its id; a customer's cart is theirs alone."""
    if customer is None:
        return Cart.customer_id.is_(None)
    return or_(Cart.customer_id.is_(None), Cart.customer_id == customer.id)


def _change_cart(cart_id: str, customer: User | None, expected_version: int | None,
                 change: Callable[[Cart, Product | None], None], product_id: int | None = None) -> Cart:
    """Apply `change` to the cart under its lock, bumping its version.

    The version bump is the first write, so it takes the lock (PostgreSQL's row lock, SQLite's
    write lock): concurrent edits queue behind it and each then sees the one before it. With
    If-Match, the bump only matches the expected version, so a stale edit is refused instead.
    It only matches a cart the caller may see, so nobody locks another's cart. The product the
    change names (`product_id`) is read with the cart and handed to `change` (None if there is none).
    """
    claim = update(Cart).where(Cart.id == cart_id, Cart.status == "open", _visible_to(customer))
    if expected_version is not None:
        claim = claim.where(Cart.version == expected_version)
    claimed = matched(db.session.execute(
        claim.values(version=Cart.version + 1, updated_at=utcnow()).execution_options(synchronize_session=False)
    ))
    if claimed != 1:
        db.session.rollback()
        current = get_cart(cart_id, customer)  # 404 for a cart that is gone or not the caller's
        CART_CONFLICTS.inc()
        raise StaleCart(current.version)
    # Everything read from here on is read under the lock: the cart, its lines, their products,
    # its coupon and the product the change names, in one statement.
    db.session.expire_all()
    query: Select[Any] = select(Cart).where(Cart.id == cart_id).options(joinedload(Cart.lines))
    if product_id is not None:
        query = query.add_columns(Product).outerjoin(Product, Product.id == product_id)
    row = db.session.execute(query).unique().one()
    cart: Cart = row[0]
    product: Product | None = row[1] if product_id is not None else None
    try:
        change(cart, product)
        # Read now, in the transaction already open, for the quote that follows the change: read
        # after the commit it would take a connection from the pool (and ping it) again.
        db.session.info[(PROMOTIONS_FOR_QUOTE, cart.id)] = active_promotions(utcnow())
        _commit_as_written()
    except BaseException:
        db.session.rollback()
        raise
    return cart


def _commit_as_written() -> None:
    """Commit, keeping the loaded cart as it is: it was read under the lock and changed here, so it
    is what was committed, and pricing it needs no second read."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def _product_for_cart(product: Product | None, product_id: int) -> Product:
    if product is None:
        raise Problem(422, "Invalid request", f"product {product_id} does not exist",
                      type_="validation-error", field="product_id")
    return product


def _check_stock(product: Product, quantity: int) -> None:
    if quantity > product.stock:
        raise Conflict(f"Only {product.stock} of {product.name} in stock.",
                       product_id=product.id, available=product.stock)


def _check_line_limit(quantity: int, max_quantity: int) -> None:
    if quantity > max_quantity:
        raise Problem(422, "Invalid request", f"quantity: at most {max_quantity} per product",
                      type_="validation-error", field="quantity")


def _line(cart: Cart, product_id: int) -> CartLine | None:
    return next((line for line in cart.lines if line.product_id == product_id), None)


def add_item(cart_id: str, customer: User | None, product_id: int, quantity: int,
             max_quantity: int, expected_version: int | None = None) -> Cart:
    def change(cart: Cart, added: Product | None) -> None:
        product = _product_for_cart(added, product_id)
        line = _line(cart, product_id)
        new_quantity = quantity + (line.quantity if line else 0)
        _check_line_limit(new_quantity, max_quantity)
        _check_stock(product, new_quantity)
        if line:
            line.quantity = new_quantity
        else:
            cart.lines.append(CartLine(product=product, quantity=new_quantity))

    return _change_cart(cart_id, customer, expected_version, change, product_id)


def set_quantity(cart_id: str, customer: User | None, product_id: int, quantity: int,
                 max_quantity: int, expected_version: int | None = None) -> Cart:
    def change(cart: Cart, _product: Product | None) -> None:
        line = _line(cart, product_id)
        if line is None:
            raise NotFound("Cart line for product", product_id)
        _check_line_limit(quantity, max_quantity)
        _check_stock(line.product, quantity)
        line.quantity = quantity

    return _change_cart(cart_id, customer, expected_version, change)


def remove_item(cart_id: str, customer: User | None, product_id: int,
                expected_version: int | None = None) -> Cart:
    def change(cart: Cart, _product: Product | None) -> None:
        line = _line(cart, product_id)
        if line is None:
            raise NotFound("Cart line for product", product_id)
        cart.lines.remove(line)

    return _change_cart(cart_id, customer, expected_version, change)


def set_coupon(cart_id: str, customer: User | None, code: str | None,
               expected_version: int | None = None) -> Cart:
    def change(cart: Cart, _product: Product | None) -> None:
        coupon = db.session.scalar(select(Coupon).where(Coupon.code == code)) if code is not None else None
        if code is not None and coupon is None:
            raise Problem(422, "Invalid request", f"coupon {code} does not exist",
                          type_="validation-error", field="code")
        cart.coupon_code = code
        set_committed_value(cart, "coupon", coupon)

    return _change_cart(cart_id, customer, expected_version, change)


def _claim(cart_id: str, *conditions: ColumnElement[bool]) -> bool:
    """Bump an open cart's version, taking its lock as every cart edit does (see _change_cart)."""
    claim = update(Cart).where(Cart.id == cart_id, Cart.status == "open", *conditions)
    return matched(db.session.execute(
        claim.values(version=Cart.version + 1, updated_at=utcnow()).execution_options(synchronize_session=False)
    )) == 1


def open_cart_of(customer: User) -> Cart | None:
    """The customer's open cart, kept on their account from any browser they shopped in."""
    cart = db.session.scalar(select(Cart).where(Cart.customer_id == customer.id, Cart.status == "open")
                             .order_by(Cart.updated_at.desc()).limit(1))
    db.session.commit()
    return cart


def merge_guest_cart(customer: User, guest_cart_id: str | None) -> Cart | None:
    """At login, a guest cart becomes the customer's, or is folded into their open cart.

    Both carts are locked (guest first, then the customer's) before their lines are read, so an edit
    of either waits for the merge and then applies on top of it, and a second merge finds the guest
    cart already merged.
    """
    guest = db.session.get(Cart, guest_cart_id) if guest_cart_id else None
    if guest is None or guest.status != "open" or guest.customer_id not in (None, customer.id):
        return None
    if guest.customer_id == customer.id:
        return guest
    if not _claim(guest.id, Cart.customer_id.is_(None)):
        db.session.rollback()
        return None
    own_id = db.session.scalar(select(Cart.id).where(Cart.customer_id == customer.id, Cart.status == "open")
                               .order_by(Cart.updated_at.desc()).limit(1))
    own_claimed = own_id is not None and _claim(own_id)
    db.session.expire_all()
    guest = db.session.get_one(Cart, guest.id)
    if not own_claimed:
        guest.customer_id = customer.id
        db.session.commit()
        return guest
    own = db.session.get_one(Cart, own_id)
    for line in guest.lines:
        existing = _line(own, line.product_id)
        if existing:
            existing.quantity = max(existing.quantity, line.quantity)
        else:
            own.lines.append(CartLine(product_id=line.product_id, quantity=line.quantity))
    own.coupon_code = own.coupon_code or guest.coupon_code
    guest.status = "merged"
    db.session.commit()
    return own


def _active_promotions_query() -> Select[Any]:
    """The promotions running at :now, as PromotionRule's fields: a Core select of the table, built once
    (every cart change and checkout reads them; loading them as ORM objects cost more than the read)."""
    promotions, now = Promotion.__table__.c, bindparam("now", type_=UtcDateTime())
    return select(promotions.id, promotions.name, promotions.kind, promotions.product_id, promotions.category_id,
                  promotions.percent, promotions.amount_cents, promotions.buy_quantity, promotions.free_quantity,
                  promotions.threshold_cents).where(
        promotions.active.is_(True),
        or_(promotions.starts_at.is_(None), promotions.starts_at <= now),
        or_(promotions.ends_at.is_(None), promotions.ends_at > now),
    )


_ACTIVE_PROMOTIONS = _active_promotions_query()


def active_promotions(now: datetime) -> list[PromotionRule]:
    return [PromotionRule(*row) for row in db.session.execute(_ACTIVE_PROMOTIONS, {"now": now})]


def promotions_for(product_id: int, category_id: int, now: datetime | None = None) -> list[str]:
    """The names of the promotions running now that apply to this product."""
    item = PricedItem(product_id, "", category_id, 0, 1)
    names = [rule.name for rule in active_promotions(now or utcnow()) if rule.matches(item)]
    db.session.commit()
    return names


def coupon_rule(coupon: Coupon | None) -> CouponRule | None:
    if coupon is None:
        return None
    return CouponRule(coupon.code, coupon.kind, coupon.percent, coupon.amount_cents,
                      coupon.min_subtotal_cents, coupon.starts_at, coupon.ends_at, coupon.usage_limit,
                      coupon.times_used)


def quote(cart: Cart, policy: PricingPolicy, now: datetime | None = None) -> Quote:
    """Price a cart as it stands (lines, products and coupon already loaded with the cart; the
    promotions too when the cart was just changed)."""
    promotions = db.session.info.pop((PROMOTIONS_FOR_QUOTE, cart.id), None) if now is None else None
    now = now or utcnow()
    lines = sorted(cart.lines, key=lambda line: line.product_id)
    items = [PricedItem(line.product_id, line.product.name, line.product.category_id,
                        line.product.price_cents, line.quantity) for line in lines]
    if promotions is None:
        promotions = active_promotions(now)
    return price(items, promotions, coupon_rule(cart.coupon), policy, now)
