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

    logistics = AppGroup("logistics", help="Logistics: shipments, tracking and the carrier.")
    app.cli.add_command(logistics)

    @logistics.command("advance-sandbox")
    @click.option("--to", "to", default=None, help="ISO time to move the sandbox carrier's clock to [default: now].")
    def advance_sandbox_command(to: str | None) -> None:
        """Move the sandbox carrier's clock: what its parcels did by then is pushed to the shop."""
        from datetime import datetime

        from .tasks import advance_sandbox_carrier

        try:
            zoned = to is None or datetime.fromisoformat(to).tzinfo is not None
        except ValueError:
            zoned = False
        if not zoned:
            raise click.BadParameter("an ISO 8601 time with its zone, e.g. 2026-03-09T10:00:00+00:00",
                                     param_hint="--to")
        click.echo(f"Applied {advance_sandbox_carrier(to)} events.")

    @logistics.command("follow")
    def follow_command() -> None:
        """Poll carriers without webhooks, finish shipments stuck booking, count shipments."""
        from .tasks import follow_shipments

        click.echo(", ".join(f"{status}: {count}" for status, count in sorted(follow_shipments().items())))

    support = AppGroup("support", help="Customer service: the ticket classifier.")
    app.cli.add_command(support)

    @support.command("train")
    def train_command() -> None:
        """Retrain the ticket classifier on the shipped corpus and the staff's corrections, and save it."""
        from pathlib import Path

        from .support import classifier
        from .support.service import corrections

        extra = corrections()
        path = Path(app.config["SUPPORT_MODEL_PATH"])
        classifier.save(classifier.train(extra), path, corrections=len(extra))
        texts, _ = classifier.read_corpus()
        click.echo(f"Trained on {len(texts)} corpus tickets and {len(extra)} staff corrections; saved to {path}.")

    @support.command("evaluate")
    def evaluate_command() -> None:
        """Measure the classifier on a held-out stratified share of the corpus (a fixed split)."""
        from .support import classifier

        click.echo(classifier.evaluate().render())
