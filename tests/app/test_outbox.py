"""Order events go through the outbox: written with the change, relayed after the commit, and
kept (never lost) when the broker cannot be reached."""

from __future__ import annotations

from sqlalchemy import select, update

from shop import create_app
from shop.catalog.models import Product
from shop.errors import Conflict
from shop.extensions import db
from shop.outbox import OutboxEvent, record_event
from shop.tasks import relay_outbox

from .factories import ADDRESS, auth_headers, make_cart, make_product, make_user


def place_order(client, customer) -> int:
    cart_id = make_cart(customer, (make_product(stock=5), 1)).id
    response = client.post("/api/v1/orders", json={"cart_id": cart_id, "shipping_address": ADDRESS},
                           headers=auth_headers(customer))
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_events_are_relayed_right_after_the_request(client):
    order_id = place_order(client, make_user())
    event = db.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "order.created")).one()
    assert event.payload["order_id"] == order_id
    assert event.published_at is not None


def test_a_broker_outage_keeps_the_events_for_later(app, app_config):  # app: cleans up after
    unreachable = create_app({**app_config, "BROKER_URL": "amqp://guest:guest@127.0.0.1:1//"})
    with unreachable.app_context():
        order_id = place_order(unreachable.test_client(), make_user())
        db.session.expire_all()
        event = db.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "order.created")).one()
        assert event.payload["order_id"] == order_id
        assert event.published_at is None
        event_id = event.id
        db.session.remove()
        db.engine.dispose()

    # The broker is back (here: tasks in-process again); the periodic relay sends what was kept.
    recovered = create_app(app_config)
    with recovered.app_context():
        assert relay_outbox.apply().result >= 1
        assert db.session.get(OutboxEvent, event_id).published_at is not None
        db.session.remove()
        db.engine.dispose()


def test_a_request_that_fails_half_way_commits_nothing(app, client):
    product_id = make_product(stock=5).id

    @app.post("/test/fails-half-way")
    def fails_half_way():
        db.session.execute(update(Product).where(Product.id == product_id).values(stock=0))
        record_event("product.emptied", product_id=product_id)
        raise Conflict("Failed half-way.")

    assert client.post("/test/fails-half-way").status_code == 409
    db.session.expire_all()
    assert db.session.scalar(select(Product.stock).where(Product.id == product_id)) == 5
    assert db.session.scalar(select(OutboxEvent.id)) is None
