"""Test data, written straight to the database through the models."""

from __future__ import annotations

import itertools

from flask import current_app
from werkzeug.security import generate_password_hash

from shop.accounts.service import issue_token
from shop.extensions import db
from shop.models import Category, Product, User

PASSWORD = "correct-horse-battery"
# Hashing once keeps user creation fast; every factory user shares this password.
PASSWORD_HASH = generate_password_hash(PASSWORD)
_sequence = itertools.count(1)


def make_user(role: str = "customer", email: str | None = None, name: str = "Test User") -> User:
    user = User(email=email or f"user{next(_sequence)}@example.com", name=name, role=role, password_hash=PASSWORD_HASH)
    db.session.add(user)
    db.session.commit()
    return user


def auth_headers(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(user, current_app.config['SECRET_KEY'])}"}


def make_category(name: str | None = None) -> Category:
    name = name or f"Category {next(_sequence)}"
    category = Category(slug=name.lower().replace(" ", "-"), name=name)
    db.session.add(category)
    db.session.commit()
    return category


def make_product(
    category: Category | None = None,
    *,
    name: str | None = None,
    price_cents: int = 1000,
    stock: int = 100,
    description: str = "A fine product.",
) -> Product:
    number = next(_sequence)
    product = Product(
        sku=f"SKU-{number:06d}",
        name=name or f"Product {number}",
        description=description,
        category_id=(category or make_category()).id,
        price_cents=price_cents,
        currency=current_app.config["SHOP_CURRENCY"],
        stock=stock,
    )
    db.session.add(product)
    db.session.commit()
    return product


def make_past_order(customer: User, lines: list[tuple[Product, int]], *, status: str = "completed", placed_at=None):
    """A past order of `lines` ((product, quantity) pairs), as the order history shows it."""
    from shop.columns import utcnow
    from shop.models import Order, OrderLine

    placed_at = placed_at or utcnow()
    subtotal = sum(product.price_cents * quantity for product, quantity in lines)
    order = Order(
        customer_id=customer.id,
        status=status,
        currency=current_app.config["SHOP_CURRENCY"],
        subtotal_cents=subtotal,
        discount_cents=0,
        shipping_cents=0,
        tax_cents=0,
        total_cents=subtotal,
        pricing={},
        shipping_address={},
        created_at=placed_at,
        updated_at=placed_at,
    )
    order.lines = [
        OrderLine(
            product_id=product.id,
            product_name=product.name,
            unit_price_cents=product.price_cents,
            quantity=quantity,
            total_cents=product.price_cents * quantity,
        )
        for product, quantity in lines
    ]
    db.session.add(order)
    db.session.commit()
    return order


def make_cart(customer: User | None, *items: tuple[Product, int], coupon_code: str | None = None):
    """An open cart holding `(product, quantity)` lines, the customer's (or a guest's)."""
    import secrets

    from shop.models import Cart, CartLine

    cart = Cart(
        id=secrets.token_hex(16),
        customer_id=customer.id if customer else None,
        coupon_code=coupon_code,
        lines=[CartLine(product_id=product.id, quantity=quantity) for product, quantity in items],
    )
    db.session.add(cart)
    db.session.commit()
    return cart


ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}


def make_order(customer: User, *items: tuple[Product, int], status: str = "pending_payment") -> dict:
    """An order placed through checkout (stock reserved), then set to `status` directly."""
    from sqlalchemy import update

    from shop.cart.pricing import PricingPolicy
    from shop.models import Order
    from shop.orders.service import place_order

    config = current_app.config
    policy = PricingPolicy(config["SHOP_CURRENCY"], config["TAX_RATE_BPS"], config["SHIPPING_FLAT_CENTS"])
    order = place_order(
        make_cart(customer, *(items or [(make_product(), 1)])).id,
        customer,
        ADDRESS,
        policy,
        config["ORDER_RESERVATION_SECONDS"],
    )
    if status != "pending_payment":
        db.session.execute(update(Order).where(Order.id == order["id"]).values(status=status))
        db.session.commit()
        order["status"] = status
    return order
