"""The worker hosts: the celery worker answers through the broker, and the event consumers are
attached to their queues."""

import pytest

testinfra_hosts = ["ansible://worker"]

SERVICES = ["shop-worker", "shop-events"]


@pytest.mark.parametrize("service", SERVICES)
def test_service_is_enabled(host, service):
    assert host.service(service).is_enabled


@pytest.mark.parametrize("service", SERVICES)
def test_service_is_running(host, service):
    assert host.service(service).is_running


def test_worker_answers_a_ping_through_the_broker(host):
    hostname = host.check_output("hostname")
    image = host.check_output("docker inspect --format '{{.Config.Image}}' shop-worker")
    output = host.check_output(
        "docker run --rm --network host --env-file /etc/shop/shop.env "
        f"{image} celery --app shop.tasks:celery_app inspect ping --timeout 10 "
        f"--destination celery@{hostname}"
    )
    assert "pong" in output


def test_worker_runs_the_periodic_jobs(host):
    # The expiry sweep and the outbox relay are scheduled by the worker's embedded beat.
    logs = host.check_output("docker logs shop-worker 2>&1")
    assert "beat: Starting" in logs


def test_every_consumer_queue_has_a_consumer(host):
    # The release's own check, from a one-off container, asks the broker as any client would.
    image = host.check_output("docker inspect --format '{{.Config.Image}}' shop-events")
    output = host.run_expect([0], "docker run --rm --network host --env-file /etc/shop/shop.env "
                             f"{image} python -m shop.events.worker --check").stdout
    assert "shop.events.logistics.book_shipment: " in output

