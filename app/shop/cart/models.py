from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..columns import UtcDateTime, utcnow
from ..extensions import BaseModel


class Cart(BaseModel):
    """A cart. Its id is an unguessable token, so a guest holds the cart by knowing the id; a
    customer's cart is tied to the account and hidden from everyone else.

    `version` rises with every change (a compare-and-set in cart.service): clients send it back
    as If-Match and a stale one is refused, so two concurrent edits never overwrite each other.
    """

    __tablename__ = "carts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    coupon_code: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | checked_out | merged
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    lines: Mapped[list[CartLine]] = relationship(
        back_populates="cart", cascade="all, delete-orphan", order_by="CartLine.product_id"
    )
    # The coupon the code names (None if it names none), read with the cart for pricing.
    coupon: Mapped[Coupon | None] = relationship(
        primaryjoin="foreign(Cart.coupon_code) == Coupon.code", viewonly=True, lazy="joined"
    )


class CartLine(BaseModel):
    __tablename__ = "cart_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    cart_id: Mapped[str] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    quantity: Mapped[int]

    cart: Mapped[Cart] = relationship(back_populates="lines")
    product = relationship("Product", lazy="joined")


class Promotion(BaseModel):
    """An automatic promotion. `kind` says which of the fields apply:

    percent: `percent` off matching lines; fixed: `amount_cents` off each matching unit;
    buy_x_get_y: for every `buy_quantity` units of a matching product, `free_quantity` more free;
    free_shipping: shipping waived when the subtotal reaches `threshold_cents`.
    A promotion matches a product, a category, or (neither set) the whole cart.
    """

    __tablename__ = "promotions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    percent: Mapped[int | None]
    amount_cents: Mapped[int | None]
    buy_quantity: Mapped[int | None]
    free_quantity: Mapped[int | None]
    threshold_cents: Mapped[int | None]
    starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    active: Mapped[bool] = mapped_column(default=True)


class Coupon(BaseModel):
    """A code a customer enters: percent or fixed off the order, or free shipping."""

    __tablename__ = "coupons"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # percent | fixed | free_shipping
    percent: Mapped[int | None]
    amount_cents: Mapped[int | None]
    min_subtotal_cents: Mapped[int] = mapped_column(default=0)
    starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    usage_limit: Mapped[int | None]
    times_used: Mapped[int] = mapped_column(default=0)
