from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup


def register(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--products-per-category", default=60, show_default=True)
    @click.option("--orders", default=1500, show_default=True)
    def seed_demo_command(products_per_category: int, orders: int) -> None:
        """Seed the deterministic demo catalog (keeps existing data)."""
        from .seed import DEMO_CUSTOMER, DEMO_STAFF, seed_demo

        seed_demo(products_per_category, orders, progress=click.echo)
        click.echo(f"Demo staff login:    {DEMO_STAFF[0]} / {DEMO_STAFF[1]}")
        click.echo(f"Demo customer login: {DEMO_CUSTOMER[0]} / {DEMO_CUSTOMER[1]}")

    payments = AppGroup("payments", help="Payments: attempts, refunds and the gateway.")
    app.cli.add_command(payments)

    @payments.command("reconcile")
    @click.option("--grace-seconds", type=int, default=None,
                  help="Only what is pending for longer than this [default: PAYMENT_RECONCILE_GRACE_SECONDS].")
    def reconcile_command(grace_seconds: int | None) -> None:
        """Finish the payment attempts and refunds a crash left pending, by asking the gateway."""
        from .extensions import payment_gateway
        from .payments.reconcile import reconcile_payments

        grace = app.config["PAYMENT_RECONCILE_GRACE_SECONDS"] if grace_seconds is None else grace_seconds
        done = reconcile_payments(payment_gateway(), grace)
        click.echo(f"Recorded {done.charges} charges, abandoned {done.abandoned} attempts, "
                   f"made {done.refunds} refunds.")

    @app.cli.command("release-expired-reservations")
    def release_command() -> None:
        """Cancel unpaid orders whose reservation ran out, giving their stock back."""
        from .orders.service import release_expired_reservations

        click.echo(f"Released {release_expired_reservations()} orders.")
