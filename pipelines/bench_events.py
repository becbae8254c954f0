"""`make bench-events`: publish N outbox events through RabbitMQ (publisher confirms) to the audit
consumer running in `python -m shop.events.worker`, and print events/s: the relay's publishing
alone, and end to end (outbox -> exchange -> queue -> consumer -> inbox commit).

Runs in a vhost and a database of its own on the local RabbitMQ and PostgreSQL, so it never touches
another run's queues. A figure, not a pass/fail test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BROKER = os.environ.get("BENCH_BROKER", "guest:guest@127.0.0.1:5672")
VHOST = "shopstack_bench_events"
DATABASE = "shopstack_bench_events"


def say(message: str) -> None:
    print(f"[bench-events] {message}", flush=True)


def recreate_database() -> str:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    return str(sa.engine.make_url(PG_ADMIN_URL).set(database=DATABASE).render_as_string(hide_password=False))


def recreate_vhost(vhost: str = VHOST) -> str:
    """An empty vhost of the bench's own on the local RabbitMQ; its broker URL."""
    for command in (["delete_vhost", vhost], ["add_vhost", vhost],
                    ["set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"]):
        subprocess.run(["rabbitmqctl", *command], capture_output=True, check=command[0] != "delete_vhost",
                       timeout=60)
    return f"amqp://{BROKER}/{vhost}"


def delete_vhost(vhost: str = VHOST) -> None:
    subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True, check=False, timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--processes", type=int, default=2, help="consumer processes in the worker")
    options = parser.parse_args()

    database_url, broker_url = recreate_database(), recreate_vhost()
    env = {**os.environ, "DATABASE_URL": database_url, "BROKER_URL": broker_url, "SECRET_KEY": "bench-secret",
           "PAYMENT_WEBHOOK_SECRETS": "whsec_bench", "SHOP_INSTANCE_DIR": tempfile.mkdtemp(prefix="bench-events-")}
    os.environ.update(env)
    from flask_migrate import upgrade
    from kombu import Connection
    from sqlalchemy import func, select

    from shop import create_app, events
    from shop.events.broker import consumer_queue, declare
    from shop.events.models import InboxEntry
    from shop.events.relay import relay_events
    from shop.extensions import db
    from shop.outbox import record_event

    app = create_app()
    with app.app_context():
        upgrade()
        audit = events.consumers()["audit"]
        with Connection(broker_url) as connection:
            declare(connection, [audit])
        for number in range(options.events):
            record_event("order.paid", order_id=number % 500 + 1)
        db.session.commit()
        db.engine.dispose()

    say(f"starting the worker ({options.processes} consumer processes)")
    worker = subprocess.Popen([sys.executable, "-m", "shop.events.worker", "audit", "--processes",
                               str(options.processes)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with Connection(broker_url) as connection:
            queue = consumer_queue(audit)(connection.default_channel)
            deadline = time.monotonic() + 120
            while queue.queue_declare(passive=True).consumer_count < options.processes:
                if time.monotonic() > deadline or worker.poll() is not None:
                    sys.exit("the worker did not start consuming")
                time.sleep(0.2)
        with app.app_context():
            started = time.perf_counter()
            published = 0
            while batch := relay_events(broker_url, batch=500):
                published += batch
            relayed = time.perf_counter() - started
            deadline = time.monotonic() + 600
            while (consumed := db.session.scalar(select(func.count()).select_from(InboxEntry))) < published:
                db.session.rollback()
                if time.monotonic() > deadline:
                    sys.exit(f"only {consumed} of {published} events consumed in 10 minutes")
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            db.session.remove()
            db.engine.dispose()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    say(f"relay: {published} events published with confirms in {relayed:.2f}s = {published / relayed:.0f} events/s")
    say(f"end to end: {published} events consumed in {elapsed:.2f}s = {published / elapsed:.0f} events/s")
    Path(env["SHOP_INSTANCE_DIR"]).rmdir()


if __name__ == "__main__":
    main()
