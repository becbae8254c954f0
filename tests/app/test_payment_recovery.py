"""Money paths that go wrong half-way: a process killed or a gateway silent between the charge (or
refund) and its record. The card is charged once, the order ends paid (or untouched), and the
reconciler or a retry finishes what was left pending."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from shop.catalog.models import Product
from shop.columns import utcnow
from shop.extensions import db
from shop.orders.models import Order
from shop.orders.service import release_expired_reservations
from shop.payments.gateway import GatewayError
from shop.payments.models import Payment, Refund
from shop.payments.reconcile import reconcile_payments
from shop.payments.sandbox import SandboxGateway
from shop.tasks import reconcile_payments as reconcile_task

from .factories import auth_headers, make_order, make_product, make_user
from .test_orders_expiry import expire
from .test_payments import pay, payment_counts


class ProcessKilled(BaseException):
    """A worker killed mid-request, seen from inside: nothing after it runs (not even `except Exception`)."""


class DiesAfterCharging(SandboxGateway):
    def charge(self, *args, **kwargs):
        super().charge(*args, **kwargs)
        raise ProcessKilled


def die() -> None:
    """The process is killed: no exception handler, finally block or teardown runs."""
    os.kill(os.getpid(), signal.SIGKILL)


class KilledAfterCharging(SandboxGateway):
    """The gateway has charged; the process dies before the shop reads the answer."""

    def charge(self, *args, **kwargs):
        super().charge(*args, **kwargs)
        die()


class KilledAtTheRecordsCommit(SandboxGateway):
    """The gateway has charged and the shop has written the result; the process dies just before
    that transaction commits (with the payment's and order's rows locked)."""

    def charge(self, *args, **kwargs):
        charge = super().charge(*args, **kwargs)
        event.listen(Session, "before_commit", lambda _session: die())
        return charge


KILLED_WHERE = {"after the charge": KilledAfterCharging, "at the record's commit": KilledAtTheRecordsCommit}
# Ample for one payment request; the child is killed and the test fails if it has not died by then.
CHILD_DEADLINE_SECONDS = 120


def pay_in_a_killed_process(app, client, customer, order, gateway_class) -> int:
    """Pay the order in a forked process that is killed (SIGKILL) where the gateway says; the signal
    that ended it."""
    child = os.fork()
    if child == 0:  # pragma: no cover - the child never returns to pytest
        try:
            # The parent's pooled connections stay the parent's: the child opens its own.
            db.engine.dispose(close=False)
            app.extensions["payment_gateway"] = gateway_class()
            pay(client, customer, order)
        finally:
            os._exit(70)  # reached only if the hook never fired
    deadline = time.monotonic() + CHILD_DEADLINE_SECONDS
    while (ended := os.waitpid(child, os.WNOHANG)) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            pytest.fail("the paying process neither finished nor died")
        time.sleep(0.01)
    return os.WTERMSIG(ended[1]) if os.WIFSIGNALED(ended[1]) else -os.WEXITSTATUS(ended[1])


class TimesOutAfterCharging(SandboxGateway):
    def charge(self, *args, **kwargs):
        super().charge(*args, **kwargs)
        raise GatewayError("read timed out")


class RefundTimesOut(SandboxGateway):
    def refund(self, *args, **kwargs):
        raise GatewayError("connect timed out")


class WatchesTransactions(SandboxGateway):
    """Notes whether the shop had a transaction open while it was called."""

    def __init__(self):
        super().__init__()
        self.open_transactions: list[bool] = []

    def charge(self, *args, **kwargs):
        self.open_transactions.append(db.session().in_transaction())
        return super().charge(*args, **kwargs)

    def refund(self, *args, **kwargs):
        self.open_transactions.append(db.session().in_transaction())
        return super().refund(*args, **kwargs)


def after_grace(app):
    return utcnow() + timedelta(seconds=app.config["PAYMENT_RECONCILE_GRACE_SECONDS"] + 1)


def reconcile_after_grace(app):
    return reconcile_payments(SandboxGateway(), app.config["PAYMENT_RECONCILE_GRACE_SECONDS"], now=after_grace(app))


def paid_by_a_killed_worker(app, client, customer) -> dict:
    """An order charged at the gateway by a worker killed before it recorded the charge."""
    order = make_order(customer)
    app.extensions["payment_gateway"] = DiesAfterCharging()
    with pytest.raises(ProcessKilled):
        pay(client, customer, order)
    app.extensions["payment_gateway"] = SandboxGateway()
    return order


def order_state(order: dict) -> tuple[str, list[str]]:
    db.session.expire_all()
    status = db.session.scalar(select(Order.status).where(Order.id == order["id"]))
    payments = db.session.scalars(
        select(Payment.status).where(Payment.order_id == order["id"]).order_by(Payment.id)
    ).all()
    return status, list(payments)


def charges_at_the_gateway(order: dict) -> int:
    keys = set(db.session.scalars(select(Payment.idempotency_key).where(Payment.order_id == order["id"])))
    return sum(entry.idempotency_key in keys for entry in SandboxGateway().entries("charge"))


def test_a_crash_after_the_charge_ends_in_one_charge_and_a_paid_order_twenty_times(app, client):
    customer = make_user()
    recovered = 0
    for _round in range(20):
        order = paid_by_a_killed_worker(app, client, customer)
        assert order_state(order) == ("pending_payment", ["pending"])
        reconcile_after_grace(app)
        assert order_state(order) == ("paid", ["succeeded"])
        assert charges_at_the_gateway(order) == 1
        recovered += 1
    assert recovered == 20
    assert len(SandboxGateway().entries("charge")) == 20


@pytest.mark.parametrize("where", KILLED_WHERE)
def test_a_process_killed_between_the_charge_and_its_record_ends_in_one_charge_and_a_paid_order_twenty_times(
    app, client, where
):
    customer = make_user()
    for _round in range(20):
        order = make_order(customer)
        assert pay_in_a_killed_process(app, client, customer, order, KILLED_WHERE[where]) == signal.SIGKILL
        assert order_state(order) == ("pending_payment", ["pending"])
        reconcile_after_grace(app)
        assert order_state(order) == ("paid", ["succeeded"])
        assert charges_at_the_gateway(order) == 1
    assert len(SandboxGateway().entries("charge")) == 20


def test_the_reconciler_leaves_a_young_attempt_to_its_request(app, client):
    customer = make_user()
    order = paid_by_a_killed_worker(app, client, customer)
    reconcile_payments(SandboxGateway(), app.config["PAYMENT_RECONCILE_GRACE_SECONDS"])
    assert order_state(order) == ("pending_payment", ["pending"])


def test_the_reconciler_fails_an_attempt_the_gateway_never_saw(app):
    customer = make_user()
    order = make_order(customer)
    db.session.add(
        Payment(
            order_id=order["id"],
            status="pending",
            amount_cents=order["total_cents"],
            currency=order["currency"],
            gateway="sandbox",
            idempotency_key="pay_never_sent",
            card_last4="4242",
        )
    )
    db.session.commit()
    done = reconcile_after_grace(app)
    assert done.abandoned == 1
    assert order_state(order) == ("pending_payment", ["failed"])
    assert charges_at_the_gateway(order) == 0


def test_the_reconcile_command_finishes_a_crashed_payment(app, client, runner):
    customer = make_user()
    order = paid_by_a_killed_worker(app, client, customer)
    result = runner.invoke(args=["payments", "reconcile", "--grace-seconds", "0"])
    assert result.exit_code == 0, result.output
    assert "Recorded 1 charges" in result.output
    assert order_state(order) == ("paid", ["succeeded"])


def test_a_timeout_after_the_charge_then_a_retry_with_the_same_key_charges_once(app, client):
    customer = make_user()
    order = make_order(customer)
    key = {"Idempotency-Key": "pay-after-timeout"}
    app.extensions["payment_gateway"] = TimesOutAfterCharging()
    first = pay(client, customer, order, headers=key)
    assert first.status_code == 502
    assert first.mimetype == "application/problem+json"
    assert "Idempotency-Key" in first.json["detail"]
    app.extensions["payment_gateway"] = SandboxGateway()
    retry = pay(client, customer, order, headers=key)
    assert retry.status_code == 201, retry.json
    assert order_state(order) == ("paid", ["succeeded"])
    assert charges_at_the_gateway(order) == 1


def test_the_gateway_is_called_with_no_transaction_open(app, client):
    customer = make_user()
    order = make_order(customer)
    gateway = app.extensions["payment_gateway"] = WatchesTransactions()
    assert pay(client, customer, order).status_code == 201
    assert client.post(f"/api/v1/orders/{order['id']}/cancel", headers=auth_headers(customer)).status_code == 200
    assert gateway.open_transactions == [False, False]


def test_a_cancel_whose_refund_fails_changes_nothing(app, client):
    customer = make_user()
    product = make_product(stock=3)
    order = make_order(customer, (product, 2))
    assert pay(client, customer, order).status_code == 201
    app.extensions["payment_gateway"] = RefundTimesOut()
    response = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=auth_headers(customer))
    assert response.status_code == 502
    assert response.mimetype == "application/problem+json"
    assert order_state(order) == ("paid", ["succeeded"])
    assert db.session.scalar(select(Product.stock).where(Product.id == product.id)) == 1


def test_a_cancel_retried_after_a_failed_refund_refunds_once(app, client):
    customer = make_user()
    product = make_product(stock=3)
    order = make_order(customer, (product, 2))
    assert pay(client, customer, order).status_code == 201
    app.extensions["payment_gateway"] = RefundTimesOut()
    client.post(f"/api/v1/orders/{order['id']}/cancel", headers=auth_headers(customer))
    app.extensions["payment_gateway"] = SandboxGateway()
    response = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=auth_headers(customer))
    assert response.status_code == 200, response.json
    assert order_state(order) == ("cancelled", ["refunded"])
    assert db.session.scalar(select(Product.stock).where(Product.id == product.id)) == 3
    assert len(SandboxGateway().entries("refund")) == 1
    assert db.session.scalars(select(Refund.gateway_reference)).all() == [
        SandboxGateway().entries("refund")[0].reference
    ]


def test_the_reconciler_makes_a_refund_left_pending(app, client):
    customer = make_user()
    order = make_order(customer)
    assert pay(client, customer, order).status_code == 201
    app.extensions["payment_gateway"] = RefundTimesOut()
    client.post(f"/api/v1/orders/{order['id']}/cancel", headers=auth_headers(customer))
    done = reconcile_after_grace(app)
    assert done.refunds == 1
    assert order_state(order) == ("cancelled", ["refunded"])
    assert len(SandboxGateway().entries("refund")) == 1


def test_a_reconciled_payment_is_counted_once(app, client):
    paid_by_a_killed_worker(app, client, make_user())
    before = payment_counts()
    for _run in range(2):
        reconcile_after_grace(app)
    assert [now - then for now, then in zip(payment_counts(), before, strict=True)] == [1, 0, 0]


def test_an_order_whose_refund_is_pending_cannot_be_shipped_meanwhile(app, client):
    customer = make_user()
    order = make_order(customer)
    assert pay(client, customer, order).status_code == 201
    app.extensions["payment_gateway"] = RefundTimesOut()
    client.post(f"/api/v1/orders/{order['id']}/cancel", headers=auth_headers(customer))
    response = client.post(
        f"/api/v1/orders/{order['id']}/transitions",
        json={"status": "shipped", "cause": "posted"},
        headers=auth_headers(make_user(role="staff")),
    )
    assert response.status_code == 409
    assert "refund" in response.json["detail"]
    assert order_state(order) == ("paid", ["succeeded"])


def test_the_periodic_sweep_reconciles_payments(app, client):
    schedule = app.extensions["celery"].conf.beat_schedule
    assert schedule["reconcile-payments"]["task"] == reconcile_task.name
    customer = make_user()
    order = paid_by_a_killed_worker(app, client, customer)
    app.config["PAYMENT_RECONCILE_GRACE_SECONDS"] = 0
    assert reconcile_task.delay().get() == 1
    assert order_state(order) == ("paid", ["succeeded"])


def test_an_order_whose_payment_is_being_made_does_not_expire(app, client):
    customer = make_user()
    order = paid_by_a_killed_worker(app, client, customer)
    expire(order)
    assert release_expired_reservations() == 0
    reconcile_after_grace(app)
    assert order_state(order) == ("paid", ["succeeded"])
