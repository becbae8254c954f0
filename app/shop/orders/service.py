"""Orders: checkout turns a cart into an order and sets its stock aside; reading orders; the
order's moves through its states (orders/states.py), and giving back the stock and coupon of
orders never paid for. Paying and refunding are the payments package's (shop/payments).

Every function here is one transaction: it begins with the first statement and commits (or rolls
back) before returning. Every change of stock or state is a conditional UPDATE whose row count
says whether it won, so concurrent requests never oversell, double-release or double-move.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

from sqlalchemy import Integer, Select, Table, Update, bindparam, func, insert, select, union_all, update
from sqlalchemy.orm import selectinload

from .. import idempotency
from ..accounts.models import User
from ..cart import service as carts
from ..cart.models import Cart, Coupon
from ..cart.pricing import PricingPolicy
from ..catalog.cache import refresh_stock
from ..catalog.models import Product
from ..columns import iso, utcnow
from ..database import after_commit, matched
from ..errors import Conflict, NotFound, Problem
from ..extensions import BaseModel, db
from ..metrics import ORDERS_CANCELLED, ORDERS_CREATED, REVENUE, STOCKOUTS
from ..numbers import MAX_ID, whole_number
from ..outbox import record_event
from ..payments.gateway import PaymentGateway
from ..payments.models import PENDING, Payment, Refund, payment_document
from . import states
from .models import Order, OrderLine, OrderTransition

# How many expired orders one statement of the sweep cancels.
EXPIRY_BATCH = 500


class IllegalTransition(Conflict):
    def __init__(self, order_id: int, current: str, wanted: str):
        super().__init__(f"Order {order_id} is {current}; it cannot become {wanted}.",
                         current_status=current, wanted_status=wanted)


def order_document(order: Order) -> dict[str, Any]:
    """The order as its customer sees it: plain JSON values, so it can be stored and replayed."""
    return {
        "id": order.id, "customer_id": order.customer_id, "status": order.status, "currency": order.currency,
        "lines": [{"product_id": line.product_id, "name": line.product_name,
                   "unit_price_cents": line.unit_price_cents, "quantity": line.quantity,
                   "discount_cents": line.discount_cents, "total_cents": line.total_cents}
                  for line in order.lines],
        "subtotal_cents": order.subtotal_cents, "discount_cents": order.discount_cents,
        "shipping_cents": order.shipping_cents, "tax_cents": order.tax_cents,
        "total_cents": order.total_cents, "coupon_code": order.coupon_code,
        "pricing": order.pricing, "shipping_address": order.shipping_address,
        "reserved_until": iso(order.reserved_until), "created_at": iso(order.created_at),
        "transitions": [{"from_status": step.from_status, "to_status": step.to_status, "cause": step.cause,
                         "at": iso(step.at)} for step in order.transitions],
        "payments": [payment_document(payment) for payment in order.payments],
    }


def summary_document(order: Order) -> dict[str, Any]:
    return {"id": order.id, "customer_id": order.customer_id, "status": order.status,
            "currency": order.currency, "total_cents": order.total_cents,
            "created_at": iso(order.created_at), "reserved_until": iso(order.reserved_until)}


# --- checkout ---------------------------------------------------------------------------------

def _reserve_stock(wanted: list[tuple[int, int, int]]) -> dict[int, int]:
    """Take (product, quantity, at price) off the shelf in one statement; the ids it could take,
    each with the stock it left.

    A product is taken only if enough is left and its price is still the one the order was
    priced at. Rows are named in id order so concurrent checkouts lock them in the same order.
    """
    params: dict[str, int] = {}
    for number, (product_id, quantity, price) in enumerate(sorted(wanted)):
        params |= {f"id_{number}": product_id, f"quantity_{number}": quantity, f"price_{number}": price}
    return dict(db.session.execute(_reservation(len(wanted)), params).tuples().all())


# The tables checkout writes with Core statements (a mapped class's __table__ is typed as a FromClause).
_PRODUCTS, _ORDERS = cast(Table, Product.__table__), cast(Table, Order.__table__)


@functools.lru_cache(maxsize=64)
def _reservation(lines: int) -> Update:
    """The reservation of `lines` products: rows of bound parameters (not a VALUES list, whose literal
    rows SQLAlchemy cannot cache), built once per number of lines and reused, compiled form and all."""
    selects = [select(*[bindparam(f"{name}_{number}", type_=Integer).label(name)
                        for name in ("id", "quantity", "price")]) for number in range(lines)]
    rows = (union_all(*selects) if len(selects) > 1 else selects[0]).cte("wanted")
    products = _PRODUCTS.c
    return (update(_PRODUCTS)
            .where(products.id == rows.c.id, products.stock >= rows.c.quantity, products.price_cents == rows.c.price)
            .values(stock=products.stock - rows.c.quantity)
            .returning(products.id, products.stock))


def _shortfall(wanted: list[tuple[int, int, int]]) -> Problem:
    """Why a reservation failed, read after the rollback: the first product out of stock or repriced."""
    quantities = {product_id: (quantity, price) for product_id, quantity, price in wanted}
    rows = db.session.execute(select(Product.id, Product.name, Product.stock, Product.price_cents)
                              .where(Product.id.in_(quantities)).order_by(Product.id)).all()
    for product_id, name, stock, price_cents in rows:
        quantity, priced_at = quantities[product_id]
        if stock < quantity:
            STOCKOUTS.inc()
            return Problem(409, "Out of stock",
                           f"Only {stock} of {name} (product {product_id}) left; the cart wants {quantity}.",
                           type_="out-of-stock", product_id=product_id, product_name=name,
                           available=stock, requested=quantity)
        if price_cents != priced_at:
            return Conflict(f"The price of {name} (product {product_id}) changed while checking out; "
                            "review the cart and retry.", product_id=product_id, price_cents=price_cents)
    # The stock came back between the refusal and this read: another try may well succeed.
    return Conflict("The stock changed while checking out; retry.")


def _columns(row: BaseModel) -> dict[str, Any]:
    """A transient model's set column values, for a Core insert (defaults fill the rest)."""
    values = ((column.key, getattr(row, column.key)) for column in row.__table__.columns)
    return {key: value for key, value in values if value is not None}


# Inserts into the tables, built once: the ORM's insert (a statement built and keyed per call, then
# its bulk path) cost more than the statements themselves.
_INSERT_ORDER = insert(_ORDERS).returning(_ORDERS.c.id)
_INSERT_LINES = insert(cast(Table, OrderLine.__table__))
_INSERT_TRANSITIONS = insert(cast(Table, OrderTransition.__table__))


def place_order(cart_id: str, customer: User, shipping_address: dict[str, Any], policy: PricingPolicy,
                reservation_seconds: int, now: datetime | None = None) -> dict[str, Any]:
    """Turn the customer's cart into an order pending payment, its stock reserved, atomically."""
    now = now or utcnow()
    cart = carts.get_cart(cart_id, customer)
    if not cart.lines:
        raise Problem(422, "Empty cart", f"Cart {cart_id} has no lines to order.", type_="empty-cart",
                      field="cart_id")
    quote = carts.quote(cart, policy, now)
    wanted = [(line.product_id, line.quantity, line.unit_price_cents) for line in quote.lines]

    # Claiming the cart at the version we priced takes its lock; an edit since then refuses us.
    claimed = matched(db.session.execute(
        update(Cart).where(Cart.id == cart.id, Cart.status == "open", Cart.version == cart.version)
        .values(status="checked_out", version=Cart.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    ))
    if claimed != 1:
        db.session.rollback()
        raise Conflict(f"Cart {cart_id} changed or was checked out meanwhile; review it and retry.",
                       field="cart_id")

    coupon_applied = bool(quote.coupon and quote.coupon["applied"])
    order = Order(
        customer_id=customer.id, cart_id=cart.id, status=states.PENDING_PAYMENT, currency=quote.currency,
        subtotal_cents=quote.subtotal_cents, discount_cents=quote.discount_cents,
        shipping_cents=quote.shipping_cents, tax_cents=quote.tax_cents, total_cents=quote.total_cents,
        coupon_code=quote.coupon["code"] if quote.coupon and coupon_applied else None,
        pricing=quote.to_dict(), shipping_address=shipping_address,
        reserved_until=now + timedelta(seconds=reservation_seconds), created_at=now, updated_at=now,
        lines=[OrderLine(product_id=line.product_id, product_name=line.name,
                         unit_price_cents=line.unit_price_cents, quantity=line.quantity,
                         discount_cents=line.discount_cents, total_cents=line.total_cents)
               for line in quote.lines],
        transitions=[OrderTransition(from_status=None, to_status=states.PENDING_PAYMENT, cause="checkout",
                                     at=now)],
        payments=[],
    )
    # Three Core inserts rather than an ORM flush: checkout is the hot path and the unit of work
    # costs more than the statements. `order` stays transient; it only shapes the answer.
    order.id = db.session.execute(_INSERT_ORDER, _columns(order)).scalar_one()
    db.session.execute(_INSERT_LINES, [_columns(line) | {"order_id": order.id} for line in order.lines])
    db.session.execute(_INSERT_TRANSITIONS, [_columns(step) | {"order_id": order.id} for step in order.transitions])
    record_event("order.created", order_id=order.id, customer_id=customer.id,
                 total_cents=order.total_cents, currency=order.currency)

    # Stock and coupon are taken last, so their row locks are held only until the commit.
    left = _reserve_stock(wanted)
    if len(left) != len(wanted):
        db.session.rollback()
        raise _shortfall(wanted)
    if coupon_applied and matched(db.session.execute(
        update(Coupon).where(Coupon.code == order.coupon_code,
                             (Coupon.usage_limit.is_(None)) | (Coupon.times_used < Coupon.usage_limit))
        .values(times_used=Coupon.times_used + 1).execution_options(synchronize_session=False)
    )) != 1:
        db.session.rollback()
        raise Conflict(f"Coupon {order.coupon_code} was used up meanwhile; remove it and retry.",
                       field="coupon_code")
    document = order_document(order)
    idempotency.keep_answer(document)
    db.session.commit()
    ORDERS_CREATED.inc()
    refresh_stock(left, [product_id for product_id, stock in left.items() if stock == 0])
    return document


# --- reading ----------------------------------------------------------------------------------

def _visible(query: Select[tuple[Order]], viewer: User) -> Select[tuple[Order]]:
    return query if viewer.is_staff else query.where(Order.customer_id == viewer.id)


def find_order(order_id: int, viewer: User, *, full: bool = False) -> Order:
    """The order if the viewer may see it; someone else's order is reported as missing."""
    if not 0 < order_id <= MAX_ID:
        raise NotFound("Order", order_id)
    query = _visible(select(Order).where(Order.id == order_id), viewer)
    if full:
        query = query.options(selectinload(Order.lines), selectinload(Order.transitions),
                              selectinload(Order.payments))
    order = db.session.scalar(query)
    if order is None:
        raise NotFound("Order", order_id)
    return order


def get_order(order_id: int, viewer: User) -> dict[str, Any]:
    document = order_document(find_order(order_id, viewer, full=True))
    db.session.commit()
    return document


def list_orders(viewer: User, page: int, per_page: int, status: str | None = None, own: bool = False
                ) -> tuple[list[dict[str, Any]], int]:
    """A page of orders, newest first: the customer's own, or everyone's for staff (unless `own`)."""
    query = select(Order).where(Order.customer_id == viewer.id) if own else _visible(select(Order), viewer)
    if status is not None:
        query = query.where(Order.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    orders = db.session.scalars(query.order_by(Order.id.desc()).limit(per_page).offset((page - 1) * per_page))
    items = [summary_document(order) for order in orders]
    db.session.commit()
    return items, total or 0


def search_orders(text: str, status: str | None, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    """Staff: orders newest first, found by id ("42" or "#42") or by (part of) the customer's
    e-mail, and by status; each with its customer's e-mail."""
    query = select(Order, User.email).join(User, User.id == Order.customer_id)
    text = text.strip()
    if text:
        order_id = whole_number(text.removeprefix("#"))
        query = query.where(Order.id == order_id) if order_id is not None else query.where(
            func.lower(User.email).contains(text.lower(), autoescape=True))
    if status is not None:
        query = query.where(Order.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.execute(query.order_by(Order.id.desc()).limit(per_page).offset((page - 1) * per_page))
    items = [summary_document(order) | {"customer_email": email} for order, email in rows]
    db.session.commit()
    return items, total or 0


def staff_moves(status: str) -> list[str]:
    """The states staff may move an order in `status` to by hand (a refund among them)."""
    return [target for target in states.STAFF_TARGETS if states.can_move(status, target)]


# --- moving along the states ------------------------------------------------------------------

def _return_stock(order_ids: list[int]) -> dict[int, bool]:
    """Put the lines of these orders back on the shelf in one statement; the products touched, each
    saying whether it came back in stock (it had none left)."""
    returned = (select(OrderLine.product_id, func.sum(OrderLine.quantity).label("quantity"))
                .where(OrderLine.order_id.in_(order_ids)).group_by(OrderLine.product_id).subquery())
    # SQLite's RETURNING cannot name the subquery the update reads, so it sums the lines again.
    quantity = (select(func.sum(OrderLine.quantity))
                .where(OrderLine.order_id.in_(order_ids), OrderLine.product_id == Product.id)
                .correlate(Product).scalar_subquery())
    return dict(db.session.execute(
        update(Product).where(Product.id == returned.c.product_id)
        .values(stock=Product.stock + returned.c.quantity).returning(Product.id, Product.stock == quantity)
        .execution_options(synchronize_session=False)
    ).tuples().all())


def _give_back_coupons(order_ids: list[int]) -> None:
    """The coupon uses of these orders become usable again, in one statement."""
    used = (select(Order.coupon_code, func.count().label("uses"))
            .where(Order.id.in_(order_ids), Order.coupon_code.is_not(None)).group_by(Order.coupon_code).subquery())
    db.session.execute(update(Coupon).where(Coupon.code == used.c.coupon_code)
                       .values(times_used=Coupon.times_used - used.c.uses)
                       .execution_options(synchronize_session=False))


def _move(order: Order, to_status: str, cause: str, now: datetime) -> str:
    """Compare-and-set the order's state (so two concurrent moves cannot both win) and record
    the step; returns the state it left."""
    from_status = order.status
    if not states.can_move(from_status, to_status):
        raise IllegalTransition(order.id, from_status, to_status)
    moved = matched(db.session.execute(
        update(Order).where(Order.id == order.id, Order.status == from_status)
        .values(status=to_status, updated_at=now,
                reserved_until=order.reserved_until if to_status == states.PENDING_PAYMENT else None)
    ))
    if moved != 1:
        db.session.rollback()
        current = db.session.scalar(select(Order.status).where(Order.id == order.id))
        raise IllegalTransition(order.id, current or "gone", to_status)
    order.transitions.append(OrderTransition(from_status=from_status, to_status=to_status, cause=cause, at=now))
    record_event(f"order.{to_status}", order_id=order.id, from_status=from_status, cause=cause)
    return from_status


def apply_move(order: Order, to_status: str, cause: str, now: datetime) -> dict[int, bool]:
    """Move the order (in the caller's transaction) with what the move brings: leaving the shelf
    returns the stock, a cancel gives the coupon back. The products whose stock changed (see
    _return_stock)."""
    from_status = _move(order, to_status, cause, now)
    if to_status == states.PAID:
        revenue = REVENUE.labels(order.currency)
        after_commit(db.session, partial(revenue.inc, order.total_cents))
    if to_status == states.CANCELLED:
        _give_back_coupons([order.id])
    return _return_stock([order.id]) if states.returns_stock(from_status, to_status) else {}


def after_move(to_status: str, viewer: User | None, returned: dict[int, bool]) -> None:
    """What follows a committed move: the cancel counted, the cached stock refreshed."""
    if to_status == states.CANCELLED:
        ORDERS_CANCELLED.labels(cause="staff" if viewer is None or viewer.is_staff else "customer").inc()
    if returned:
        refresh_stock(returned, [product_id for product_id, back in returned.items() if back])


def lock(order: Order, now: datetime) -> None:
    """Take the order's row lock for this transaction, provided it is still in the state read:
    a concurrent payment, move or expiry waits, then sees what this one did."""
    locked = matched(db.session.execute(
        update(Order).where(Order.id == order.id, Order.status == order.status)
        .values(updated_at=now).execution_options(synchronize_session=False)
    ))
    if locked != 1:
        db.session.rollback()
        current = db.session.scalar(select(Order.status).where(Order.id == order.id))
        raise Conflict(f"Order {order.id} changed meanwhile (it is {current or 'gone'} now); retry.",
                       current_status=current)


def move_order(order_id: int, viewer: User, to_status: str, cause: str, gateway: PaymentGateway,
               now: datetime | None = None) -> dict[str, Any]:
    """Move an order to `to_status`; leaving a paid state refunds first, leaving the shelf returns stock."""
    now = now or utcnow()
    order = find_order(order_id, viewer, full=True)
    if order.status in states.PAID_FOR and to_status in (states.CANCELLED, states.REFUNDED):
        # Payments build on orders; this one move calls back into them, so it imports here.
        from ..payments.refunds import refund_order

        db.session.commit()
        return refund_order(order_id, viewer, to_status, cause, gateway, now)
    if to_status == states.CANCELLED and any(payment.status == PENDING for payment in order.payments):
        db.session.rollback()
        raise Conflict(f"A payment for order {order.id} is being made; retry shortly.",
                       current_status=order.status)
    if db.session.scalar(select(Refund.id).join(Payment).where(Payment.order_id == order.id,
                                                               Refund.status == PENDING).limit(1)):
        # The order moves as its refund says once the money is back; nothing else moves it meanwhile.
        db.session.rollback()
        raise Conflict(f"A refund for order {order.id} is being made; retry shortly.", current_status=order.status)
    returned = apply_move(order, to_status, cause, now)
    document = order_document(order)
    db.session.commit()
    after_move(to_status, viewer, returned)
    return document


def cancel_order(order_id: int, viewer: User, gateway: PaymentGateway, now: datetime | None = None
                 ) -> dict[str, Any]:
    cause = "cancelled by the customer" if not viewer.is_staff else "cancelled by staff"
    return move_order(order_id, viewer, states.CANCELLED, cause, gateway, now)


# --- expiry -----------------------------------------------------------------------------------

def release_expired_reservations(now: datetime | None = None) -> int:
    """Cancel the orders still unpaid when their reservation ran out and give their stock back;
    the number cancelled. Safe to run in several workers at once."""
    now = now or utcnow()
    released = 0
    while True:
        # An order whose payment is being made waits for its outcome (or the reconciler's).
        paying = select(Payment.id).where(Payment.order_id == Order.id, Payment.status == PENDING).exists()
        due = (select(Order.id).where(Order.status == states.PENDING_PAYMENT, Order.reserved_until <= now, ~paying)
               .order_by(Order.id).limit(EXPIRY_BATCH))
        if db.engine.dialect.name == "postgresql":
            # Orders another sweep or a payment holds are skipped, not waited for.
            due = due.with_for_update(skip_locked=True)
        order_ids = list(db.session.execute(
            update(Order).where(Order.id.in_(due.scalar_subquery()), Order.status == states.PENDING_PAYMENT)
            .values(status=states.CANCELLED, reserved_until=None, updated_at=now)
            .returning(Order.id).execution_options(synchronize_session=False)
        ).scalars())
        if not order_ids:
            db.session.commit()
            return released
        products = _return_stock(order_ids)
        _give_back_coupons(order_ids)
        cause = "reservation expired"
        db.session.execute(
            insert(OrderTransition),
            [{"order_id": order_id, "from_status": states.PENDING_PAYMENT, "to_status": states.CANCELLED,
              "cause": cause, "at": now} for order_id in order_ids],
        )
        for order_id in order_ids:
            record_event("order.cancelled", order_id=order_id, from_status=states.PENDING_PAYMENT, cause=cause)
        db.session.commit()
        ORDERS_CANCELLED.labels(cause="expired").inc(len(order_ids))
        refresh_stock(products, [product_id for product_id, back in products.items() if back])
        released += len(order_ids)
