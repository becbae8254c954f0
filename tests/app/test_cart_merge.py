"""Logging in keeps the guest's cart, and the merge takes the cart lock like every other cart edit."""

from __future__ import annotations

import contextvars

from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from shop.cart import service as carts
from shop.extensions import db
from shop.models import Cart

from .factories import PASSWORD, make_cart, make_product, make_user
from .test_storefront_checkout import add_to_cart


def customer_lines(customer) -> dict[int, int]:
    db.session.expire_all()
    cart = db.session.scalar(select(Cart).where(Cart.customer_id == customer.id, Cart.status == "open"))
    return {line.product_id: line.quantity for line in cart.lines} if cart else {}


def test_api_login_keeps_the_session_guest_cart(app, client):
    customer, product = make_user(), make_product()
    add_to_cart(client, product.id, 2)
    response = client.post("/api/v1/auth/login", json={"email": customer.email, "password": PASSWORD})
    assert response.status_code == 200
    assert customer_lines(customer) == {product.id: 2}


def test_api_login_merges_the_x_cart_id_guest_cart(app, client):
    customer, product = make_user(), make_product()
    guest = make_cart(None, (product, 3))
    response = client.post("/api/v1/auth/login", json={"email": customer.email, "password": PASSWORD},
                           headers={"X-Cart-Id": guest.id})
    assert response.status_code == 200
    assert customer_lines(customer) == {product.id: 3}


def edit_without_waiting(app, change) -> bool:
    """Run `change` as another request would (its own session), refusing to wait for a lock: True when
    it was applied, False when a lock held it back."""

    def run() -> bool:
        with app.app_context():
            connection = db.session.connection()
            postgresql = db.engine.dialect.name == "postgresql"
            connection.exec_driver_sql("SET LOCAL lock_timeout = '10ms'" if postgresql else "PRAGMA busy_timeout=0")
            try:
                change()
                return True
            except OperationalError:
                db.session.rollback()
                return False
            finally:
                if not postgresql:
                    db.session.connection().exec_driver_sql("PRAGMA busy_timeout=10000")
                db.session.remove()

    return contextvars.Context().run(run)


def test_an_edit_racing_a_merge_waits_for_it_and_loses_nothing(app):
    customer = make_user()
    kept, shared = make_product(), make_product()
    own = make_cart(customer, (kept, 1))
    guest = make_cart(None, (shared, 2))
    own_id, guest_id = own.id, guest.id
    fired, outcomes = [], []

    def add_shared() -> None:
        carts.add_item(own_id, customer, shared.id, 1, app.config["MAX_LINE_QUANTITY"])

    def edit_while_merging(_conn, _cursor, statement, *_args) -> None:
        # While the merge reads the carts' lines, the customer adds to their cart from another tab.
        if not fired and "cart_lines" in statement and statement.lstrip().upper().startswith("SELECT"):
            fired.append(statement)
            outcomes.append(edit_without_waiting(app, add_shared))

    db.session.expire_all()
    event.listen(db.engine, "before_cursor_execute", edit_while_merging)
    try:
        merged = carts.merge_guest_cart(customer, guest_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", edit_while_merging)
    assert merged.id == own_id
    assert outcomes == [False]  # the edit found the cart locked by the merge ...
    add_shared()  # ... and, retried once the merge committed, applies on top of it
    assert customer_lines(customer) == {kept.id: 1, shared.id: 3}
    assert db.session.get(Cart, guest_id).status == "merged"


def test_a_merge_moves_the_carts_version_on(app):
    customer, product = make_user(), make_product()
    own = make_cart(customer, (product, 1))
    guest = make_cart(None, (make_product(), 1))
    before = own.version
    carts.merge_guest_cart(customer, guest.id)
    db.session.expire_all()
    assert db.session.get(Cart, own.id).version == before + 1
    assert db.session.get(Cart, guest.id).version > 1
